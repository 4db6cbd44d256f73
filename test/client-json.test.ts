import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientJson } from '../src/gateways/json.ts';
import { AppError } from '../src/errors.ts';

const codeOf = (text: string): string => {
  try {
    parseClientJson(text);
  } catch (err) {
    assert.ok(err instanceof AppError, `${text.slice(0, 60)} threw ${String(err)}`);
    return err.code;
  }
  return 'accepted';
};

test('a send frame parses as JSON.parse reads it, escapes included', () => {
  const frame = {
    type: 'message:send',
    id: 7,
    data: { conversationId: 'c', clientMsgId: 'k', body: 'line\none "quoted" \\ back\\slash [{ not nesting }] é 😀', mentions: [] },
  };
  for (const text of [JSON.stringify(frame), `\uFEFF${JSON.stringify(frame)}`]) assert.deepEqual(parseClientJson(text), frame);
  // Written with \u escapes (which only the careful path reads), the same value.
  const escaped = JSON.stringify(frame).replace('one', '\\u006fne').replace('😀', '\\ud83d\\ude00');
  assert.deepEqual(parseClientJson(escaped), frame);
});

test('brackets and quotes inside strings do not count as nesting, however they are escaped', () => {
  const deep = '['.repeat(100);
  for (const body of [deep, `\\"${deep}`, `\\\\${deep}`, `\\\\\\"${deep}`, `x\\\\`]) {
    const text = `{"body":"${body}","n":1}`;
    assert.equal(codeOf(text), 'accepted', text);
  }
  // A quote after an even run of backslashes ends the string: what follows is nesting.
  assert.equal(codeOf(`{"body":"\\\\",  "x":${'['.repeat(40)}${']'.repeat(40)}}`), 'json_too_deep');
  assert.equal(codeOf(`{"body":"${'['.repeat(40)}`), 'invalid_json'); // unterminated string
});

test('forbidden keys are refused however they are spelled; their names as values are not keys', () => {
  for (const key of ['__proto__', '\\u005f\\u005fproto\\u005f\\u005f', '__pro\\u0074o__']) {
    assert.equal(codeOf(`{"type":"x","data":{"${key}":{"polluted":true}}}`), 'forbidden_key', key);
  }
  for (const key of ['constructor', 'c\\u006fnstructor']) {
    assert.equal(codeOf(`{"data":{"${key}":{"prototype":{"polluted":true}}}}`), 'forbidden_key', key);
  }
  assert.equal(codeOf('{"body":"__proto__ and constructor are words"}'), 'accepted');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('NUL and lone surrogates are refused, escaped or raw; a surrogate pair is text', () => {
  for (const body of ['\\u0000', 'a\\ud800', '\\udfffz', 'ok\ud800']) {
    assert.equal(codeOf(`{"body":"${body}"}`), 'invalid_text', body);
  }
  assert.equal(codeOf('{"k\\u0000":1}'), 'invalid_text');
  assert.equal(codeOf('{"body":"raw \u0000"}'), 'invalid_json'); // control characters are escaped in JSON
  assert.equal(codeOf('{"body":"\\ud83d\\ude00"}'), 'accepted');
});

test('numbers JSON.parse would change are refused; syntax errors are invalid_json', () => {
  for (const n of ['1e400', '9007199254740993', '1e-400', '-0.0001e-999999']) assert.equal(codeOf(`{"n":${n}}`), 'number_out_of_range', n);
  assert.equal(codeOf('{"n":"1e400","m":0.5,"k":-12,"z":-0.000e-999}'), 'accepted');
  for (const bad of ['{', '{"a":1,}', "{'a':1}", 'NaN', '']) assert.equal(codeOf(bad), 'invalid_json', bad);
});
