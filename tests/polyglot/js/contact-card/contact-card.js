// A weft transform written in JavaScript, built with componentize-js.
//
// Input: {"first": "...", "last": "...", "email": "..."};
// output: {"display": "Last, First <email>", "domain": "...", "language": "javascript"}.
// A missing email is the user's mistake: an `invalid-input` error.

import { log } from 'weft:plugin/log@0.1.1';

export function transform(input) {
  const contact = JSON.parse(input);
  if (typeof contact?.email !== 'string' || !contact.email.includes('@')) {
    // A thrown value becomes the `error` of `result<json, error>`.
    throw { tag: 'invalid-input', val: 'the input needs a text field "email" holding an address' };
  }
  const name = [contact.last, contact.first].filter((part) => typeof part === 'string' && part).join(', ');
  const domain = contact.email.split('@').pop().toLowerCase();
  log('info', `contact card for ${domain}`);
  return JSON.stringify({ display: `${name} <${contact.email}>`, domain, language: 'javascript' });
}
