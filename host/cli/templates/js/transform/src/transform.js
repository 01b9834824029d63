// {{name}}: a weft transform in JavaScript — JSON in, JSON out, nothing
// else — built into a component by `weft plugin build` (componentize-js).
// Test it with `weft plugin test` (tests/).
//
// `transform` takes the input as JSON text and returns the output as JSON
// text. Throw `{ tag: 'invalid-input', val: 'message' }` when the input does
// not fit (or 'fatal'); anything else thrown is a bug: the call fails as
// trapped, and weft shows its message.

import { log } from 'weft:plugin/log@0.1.1';

export function transform(input) {
  const document = JSON.parse(input);
  if (typeof document?.name !== 'string') {
    throw { tag: 'invalid-input', val: 'the input needs a text field "name"' };
  }
  log('debug', `greeting ${document.name}`);
  return JSON.stringify({ greeting: `Hello, ${document.name}!` });
}
