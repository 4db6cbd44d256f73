/** What the server told the page in its `parley-config` meta tag (see src/gateways/http/web-app.ts). */
export interface RuntimeConfig {
  devLogin: boolean;
  embedOrigins: string[];
}

export function readRuntimeConfig(doc: Document = document): RuntimeConfig {
  const raw = doc.querySelector('meta[name="parley-config"]')?.getAttribute('content');
  try {
    const parsed = raw ? (JSON.parse(raw) as Partial<RuntimeConfig>) : {};
    return { devLogin: parsed.devLogin === true, embedOrigins: Array.isArray(parsed.embedOrigins) ? parsed.embedOrigins : [] };
  } catch {
    return { devLogin: false, embedOrigins: [] };
  }
}
