// A weft connector written in JavaScript, built with `weft plugin build`
// (componentize-js): the records API of a json-server, as the Rust `records`
// connector in plugins/ reads it.
//
// Action `get` fetches `{base_url}/{collection}/{id}` and counts its calls in
// the connection's key-value store; trigger `new_record` polls for records by
// increasing id. Action `crash` throws an Error, to show what weft reports
// when a JavaScript plugin fails with an uncaught error.

import { log } from 'weft:plugin/log@0.1.1';
import * as config from 'weft:plugin/config@0.1.1';
import * as kv from 'weft:plugin/kv@0.1.1';

const fail = (tag, val) => ({ tag, val });

function baseUrl() {
  const raw = config.setting('base_url');
  if (raw === undefined) throw fail('invalid-input', 'the connection has no base_url setting');
  return String(JSON.parse(raw)).replace(/\/+$/, '');
}

function collection(value) {
  const name = value?.collection;
  if (typeof name !== 'string' || name === '' || /[/?#]/.test(name)) {
    throw fail('invalid-input', '`collection` must be a plain name such as "contacts"');
  }
  return name;
}

async function fetchJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (response.status === 404) return undefined;
  if (response.status >= 500) throw fail('transient', `${url} answered ${response.status}`);
  if (!response.ok) throw fail('fatal', `${url} answered ${response.status}`);
  return await response.json();
}

/** Add one to the counter `key` in the connection's key-value store; the new count. */
function count(key) {
  const held = kv.get(key);
  const n = (held === undefined ? 0 : Number(new TextDecoder().decode(held))) + 1;
  kv.set(key, new TextEncoder().encode(String(n)));
  return n;
}

async function get(input) {
  const name = collection(input);
  const record = await fetchJson(`${baseUrl()}/${name}/${encodeURIComponent(input.id)}`);
  if (record === undefined) throw fail('invalid-input', `there is no record ${input.id} in "${name}"`);
  const calls = count('calls:get');
  log('info', `fetched ${name}/${input.id} (call ${calls})`);
  return { record, calls };
}

function crash() {
  throw new Error('the crash action always fails');
}

export const connectorApi = {
  describe() {
    return {
      name: 'js-records',
      version: '0.1.0',
      description: 'json-server records, from JavaScript',
      triggers: [
        {
          name: 'new_record',
          description: 'Records added to a collection',
          kind: 'polling',
          polling: 'increasing-id',
          events: [],
          configSchema: JSON.stringify({
            type: 'object',
            required: ['collection'],
            properties: { collection: { type: 'string' } },
          }),
          outputSchema: JSON.stringify({ type: 'object', required: ['id'] }),
        },
      ],
      actions: [
        {
          name: 'get',
          description: 'One record by its id',
          inputSchema: JSON.stringify({
            type: 'object',
            required: ['collection', 'id'],
            properties: { collection: { type: 'string' }, id: { type: ['integer', 'string'] } },
          }),
          outputSchema: JSON.stringify({ type: 'object' }),
        },
        { name: 'crash', description: 'Throws an Error', inputSchema: '{}', outputSchema: '{}' },
      ],
      settings: [{ name: 'base_url', description: "The API's base URL", secret: false, required: true }],
      hosts: [],
    };
  },

  async invoke({ action, input }) {
    switch (action) {
      case 'get':
        return JSON.stringify(await get(JSON.parse(input)));
      case 'crash':
        return crash();
      default:
        throw fail('invalid-input', `unknown action ${action}`);
    }
  },

  async poll({ trigger, config: configText, cursor }) {
    if (trigger !== 'new_record') throw fail('invalid-input', `unknown trigger ${trigger}`);
    const name = collection(JSON.parse(configText));
    let url = `${baseUrl()}/${name}?_sort=id&_order=asc`;
    if (cursor !== undefined) url += `&id_gte=${Number(cursor) + 1}`;
    const records = (await fetchJson(url)) ?? [];
    log('info', `polled ${records.length} new records from ${name}`);
    const events = records.map((record) => ({ id: String(record.id), payload: JSON.stringify(record) }));
    const last = records.length ? String(records[records.length - 1].id) : cursor;
    return { events, nextCursor: last };
  },

  subscribe() {
    return 'null';
  },

  unsubscribe() {},

  handleWebhook({ trigger }) {
    throw fail('fatal', `no webhook trigger ${trigger}`);
  },
};
