/**
 * `/docs`: a self-contained HTML rendering of the OpenAPI document (no scripts, no CDN), one
 * section per operation with its parameters and responses. Rendered once at start-up.
 */
type Json = Record<string, unknown>;

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const schemaSummary = (s: Json | undefined): string => {
  if (!s) return '';
  if (Array.isArray(s.enum)) return `one of ${s.enum.map(String).join(', ')}`;
  if (s.type === 'array') return `list of ${schemaSummary(s.items as Json)}`;
  return String(s.type ?? (s.anyOf ? 'one of several types' : 'any'));
};

function renderOperation(method: string, path: string, op: Json): string {
  const params = (op.parameters as Json[]) ?? [];
  const responses = Object.entries((op.responses as Record<string, Json>) ?? {});
  const security = ((op.security as Json[]) ?? []).map((s) => Object.keys(s).join('+')).join(' or ') || 'none';
  const rows = params
    .map((p) => `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td><td>${esc(schemaSummary(p.schema as Json))}</td><td>${esc(p.description)}</td></tr>`)
    .join('');
  const body = op.requestBody ? `<p>Body: ${esc(Object.keys(((op.requestBody as Json).content as Json) ?? {}).join(', '))} (schema in <a href="/openapi.json">openapi.json</a>)</p>` : '';
  return `<section id="${esc(op.operationId)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>${op.description ? `<p class="d">${esc(op.description)}</p>` : ''}
<p>Auth: ${esc(security)}</p>
${rows ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>${rows}</table>` : ''}${body}
<ul>${responses.map(([status, r]) => `<li><b>${esc(status)}</b> ${esc(r.description)}</li>`).join('')}</ul>
</section>`;
}

export function renderDocsPage(doc: Json): string {
  const info = doc.info as Json;
  const ops = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, op })),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font-family:ui-monospace,monospace}section{border-top:1px solid #ddd;padding:.5rem 0}
table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:4rem;font-size:13px;padding:.1rem .4rem;border-radius:3px;color:#fff;background:#555}
.get{background:#2b6cb0}.post{background:#2f855a}.patch{background:#b7791f}.d{color:#555}
</style></head><body>
<h1>${esc(info.title)} API <small>${esc(info.version)}</small></h1>
<p>${esc(info.description)} Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<nav><ul>${ops.map(({ method, path, op }) => `<li><a href="#${esc(op.operationId)}">${esc(method.toUpperCase())} ${esc(path)}</a></li>`).join('')}</ul></nav>
${ops.map(({ method, path, op }) => renderOperation(method, path, op)).join('\n')}
</body></html>`;
}
