// {{name}}: a weft connector in JavaScript, built into a component by
// `weft plugin build` (componentize-js). `describe` says what it offers;
// `invoke` runs its actions. Test it with `weft plugin test` (tests/).
//
// The types are wit/plugin.wit's: records are objects with camelCase fields,
// enums are strings ('polling', 'increasing-id'), an `option` is a value or
// undefined, `list<u8>` is a Uint8Array, u64 is a BigInt. HTTP is `fetch`
// (each request is checked by weft against the hosts granted to the
// connection); `weft:plugin/kv@0.1.1` and `weft:plugin/config@0.1.1` are
// imported like `log` below.
//
// To fail a call the way the engine understands, throw `{ tag, val }`:
// 'invalid-input', 'auth', 'transient' or 'fatal' with a message, or
// 'rate-limited' with `{ message, retryAfterMs: 1000n }`. Anything else
// thrown is a bug: the call fails as trapped, and weft shows its message.

import { log } from 'weft:plugin/log@0.1.1';
import * as config from 'weft:plugin/config@0.1.1';

const fail = (tag, val) => ({ tag, val });

/** The connection's `base_url` setting, without a trailing slash. */
function baseUrl() {
  const raw = config.setting('base_url'); // JSON text, or undefined when it is not set
  if (raw === undefined) throw fail('invalid-input', 'the connection has no base_url setting');
  return String(JSON.parse(raw)).replace(/\/+$/, '');
}

/** A response's status as the engine's error, when it is one. */
function checkStatus(response, url) {
  const what = `${url} answered ${response.status}`;
  if (response.status === 401 || response.status === 403) throw fail('auth', what);
  if (response.status === 429) {
    const seconds = Number(response.headers.get('retry-after'));
    throw fail('rate-limited', { message: what, retryAfterMs: BigInt(Number.isFinite(seconds) ? seconds * 1000 : 0) });
  }
  if (response.status >= 500) throw fail('transient', what);
  if (!response.ok) throw fail('fatal', what);
}

/** `GET {base_url}/items/{id}`: the item, as the API returns it. */
async function getItem(input) {
  const id = input?.id;
  if (!(typeof id === 'number' || (typeof id === 'string' && id !== ''))) {
    throw fail('invalid-input', '`id` must be a number or a string');
  }
  log('info', `fetching item ${id}`);
  const url = `${baseUrl()}/items/${encodeURIComponent(id)}`;
  const response = await fetch(url);
  if (response.status === 404) throw fail('invalid-input', `there is no item ${id}`);
  checkStatus(response, url);
  return await response.json();
}

export const connectorApi = {
  describe() {
    return {
      name: '{{name}}',
      version: '0.1.0',
      description: 'A weft connector written in JavaScript',
      triggers: [],
      actions: [
        {
          name: 'get-item',
          description: 'Fetch one item by its id',
          inputSchema: JSON.stringify({
            type: 'object',
            required: ['id'],
            properties: { id: { type: ['integer', 'string'], description: "The item's id" } },
          }),
          outputSchema: JSON.stringify({ type: 'object' }),
        },
      ],
      settings: [
        { name: 'base_url', description: "The API's base URL, e.g. https://api.example.com", secret: false, required: true },
      ],
      hosts: [],
    };
  },

  async invoke({ action, input }) {
    switch (action) {
      case 'get-item':
        return JSON.stringify(await getItem(JSON.parse(input)));
      default:
        throw fail('invalid-input', `unknown action ${JSON.stringify(action)}`);
    }
  },

  poll({ trigger }) {
    throw fail('fatal', `this connector has no polling trigger ${JSON.stringify(trigger)}`);
  },

  // JSON `null`: the application has no API for registering webhooks.
  subscribe() {
    return 'null';
  },

  unsubscribe() {},

  handleWebhook({ trigger }) {
    throw fail('fatal', `this connector has no webhook trigger ${JSON.stringify(trigger)}`);
  },
};
