/**
 * What `promtool check metrics` checks, for a test (promtool is not installed here): the
 * Prometheus text exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats)
 * parsed strictly, then the naming rules of promlint (client_golang's testutil/promlint):
 * help text, `_total` on counters and only on counters, base units, no abbreviated units,
 * no type names in names, no colons, snake_case, names reserved for histograms/summaries.
 */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const CAMEL = /[a-z][A-Z]/;
const UNITS: Record<string, string> = {
  amperes: 'amperes', bytes: 'bytes', celsius: 'celsius', grams: 'grams', joules: 'joules', kelvin: 'kelvin', meters: 'meters', metres: 'metres',
  seconds: 'seconds', volts: 'volts', minutes: 'seconds', hours: 'seconds', days: 'seconds', weeks: 'seconds', kelvins: 'kelvin',
  fahrenheit: 'celsius', rankine: 'celsius', inches: 'meters', yards: 'meters', miles: 'meters', bits: 'bytes', calories: 'joules',
  pounds: 'grams', ounces: 'grams',
};
const PREFIXES = ['pico', 'nano', 'micro', 'milli', 'centi', 'deci', 'deca', 'hecto', 'kilo', 'kibi', 'mega', 'mibi', 'giga', 'gibi', 'tera', 'tebi', 'peta', 'pebi'];
const ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];

function parseValue(text: string): number | null {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : null;
}

/** `{a="x",b="y\"z"}` into labels, or an error. Escapes: \\, \" and \n only. */
function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([^=\s]+)="/.exec(text.slice(i));
    if (!m) return `bad label syntax at "${text.slice(i, i + 20)}"`;
    const name = m[1]!;
    if (!LABEL.test(name) || name.startsWith('__')) return `bad label name "${name}"`;
    if (Object.hasOwn(labels, name)) return `label "${name}" twice`;
    i += m[0].length;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return 'unterminated label value';
      if (c === '"') break;
      if (c === '\\') {
        const next = text[i + 1];
        if (next === '\\' || next === '"') value += next;
        else if (next === 'n') value += '\n';
        else return `bad escape \\${next} in a label value`;
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++;
    if (text[i] === ',') i++;
    else if (i < text.length) return `expected , between labels at "${text.slice(i, i + 20)}"`;
  }
  return labels;
}

/** The family a sample belongs to: histograms and summaries add suffixes to their name. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  for (const suffix of ['_bucket', '_sum', '_count', '']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, sample.length - suffix.length));
    if (!f) continue;
    if (suffix === '' || f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket')) return f;
  }
  return undefined;
}

export function parseExposition(text: string): { families: Family[]; problems: string[] } {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const closed = new Set<string>();
  if (!text.endsWith('\n')) problems.push('the exposition does not end with a newline');
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const at = `line ${n + 1}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!)) {
        problems.push(`${at}: bad metric name "${name}"`);
        continue;
      }
      let f = families.get(name!);
      if (!f) {
        if (current) closed.add(current.name);
        f = { name: name!, type: 'untyped', samples: [] };
        families.set(name!, f);
        current = f;
      } else if (f !== current) {
        problems.push(`${at}: ${kind} for ${name} after other families`);
        continue;
      }
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) problems.push(`${at}: unknown type "${rest}"`);
        if (f.samples.length) problems.push(`${at}: TYPE for ${name} after its samples`);
        f.type = rest;
      } else {
        if (f.help !== undefined) problems.push(`${at}: second HELP for ${name}`);
        f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) {
      problems.push(`${at}: not a sample: ${line.slice(0, 80)}`);
      continue;
    }
    const [, name, labelText = '', valueText] = m;
    const labels = parseLabels(labelText);
    if (typeof labels === 'string') {
      problems.push(`${at}: ${labels}`);
      continue;
    }
    const value = parseValue(valueText!);
    if (value === null) {
      problems.push(`${at}: bad value "${valueText}"`);
      continue;
    }
    let f = familyOf(name!, families);
    if (!f) {
      f = { name: name!, type: 'untyped', samples: [] };
      families.set(name!, f);
      if (current) closed.add(current.name);
      current = f;
    }
    if (f !== current || closed.has(f.name)) problems.push(`${at}: samples of ${f.name} are not together`);
    f.samples.push({ name: name!, labels, value });
  }

  for (const f of families.values()) {
    const seen = new Set<string>();
    for (const s of f.samples) {
      const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
      if (seen.has(key)) problems.push(`${f.name}: sample ${key} twice`);
      seen.add(key);
      if (f.type === 'counter' && s.value < 0) problems.push(`${f.name}: a counter is negative`);
    }
    if (f.type === 'histogram') {
      const series = new Map<string, Sample[]>();
      for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
        if (s.labels.le === undefined) problems.push(`${f.name}: a bucket without le`);
        const { le: _, ...rest } = s.labels;
        const key = JSON.stringify(Object.entries(rest).sort());
        series.set(key, [...(series.get(key) ?? []), s]);
      }
      for (const [key, buckets] of series) {
        if (!buckets.some((b) => b.labels.le === '+Inf')) problems.push(`${f.name}${key}: no +Inf bucket`);
        const sorted = [...buckets].sort((a, b) => Number(a.labels.le) - Number(b.labels.le));
        for (let i = 1; i < sorted.length; i++) if (sorted[i]!.value < sorted[i - 1]!.value) problems.push(`${f.name}${key}: buckets not cumulative`);
        const count = f.samples.find((s) => s.name === `${f.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
        if (!count || count.value !== sorted.at(-1)!.value) problems.push(`${f.name}${key}: _count is not the +Inf bucket`);
      }
    }
  }
  return { families: [...families.values()], problems };
}

/** promlint's rules, on parsed families. */
export function lintFamilies(families: Family[]): string[] {
  const problems: string[] = [];
  for (const f of families) {
    const say = (what: string) => problems.push(`${f.name}: ${what}`);
    const lower = f.name.toLowerCase();
    if (!f.help) say('no help text');
    const isTotal = f.name.endsWith('_total');
    if (f.type === 'counter' && !isTotal) say('counter metrics should have "_total" suffix');
    if (f.type !== 'counter' && f.type !== 'untyped' && isTotal) say('non-counter metrics should not have "_total" suffix');
    if (f.type !== 'untyped') {
      if (f.type !== 'histogram' && f.name.endsWith('_bucket')) say('non-histogram metrics should not have "_bucket" suffix');
      if (f.type !== 'histogram' && f.type !== 'summary' && (f.name.endsWith('_count') || f.name.endsWith('_sum'))) say('non-histogram and non-summary metrics should not have "_count" or "_sum" suffix');
      for (const s of f.samples) {
        if (f.type !== 'histogram' && 'le' in s.labels) say('non-histogram metrics should not have "le" label');
        if (f.type !== 'summary' && 'quantile' in s.labels) say('non-summary metrics should not have "quantile" label');
      }
      if (f.type !== 'gauge' && f.name.endsWith('_timestamp_seconds')) say('non-gauge metrics should not have "_timestamp_seconds" suffix');
    }
    for (const t of ['counter', 'gauge', 'histogram', 'summary']) if (lower.includes(`_${t}_`) || lower.endsWith(`_${t}`)) say(`metric name should not include type '${t}'`);
    if (f.name.includes(':')) say("metric names should not contain ':'");
    if (CAMEL.test(f.name)) say("metric names should be written in 'snake_case' not 'camelCase'");
    if (f.samples.some((s) => Object.keys(s.labels).some((l) => CAMEL.test(l)))) say("label names should be written in 'snake_case' not 'camelCase'");
    for (const a of ABBREVIATIONS) if (lower.includes(`_${a}_`) || lower.endsWith(`_${a}`)) say('metric names should not contain abbreviated units');
    for (const part of f.name.split('_')) {
      const base = UNITS[part] ?? PREFIXES.map((p) => (part.startsWith(p) ? UNITS[part.slice(p.length)] : undefined)).find(Boolean);
      if (base) {
        if (base !== part) say(`use base unit "${base}" instead of "${part}"`);
        break;
      }
    }
  }
  return problems;
}

/** Every problem promtool's `check metrics` would report for this exposition. */
export function checkMetrics(text: string): string[] {
  const { families, problems } = parseExposition(text);
  return [...problems, ...lintFamilies(families)];
}
