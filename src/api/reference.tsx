/** @jsxImportSource hono/jsx */
import { Layout, type SiteInfo } from "../pages/layout";

/**
 * A readable API reference, rendered on the server from the OpenAPI document itself (so it cannot
 * drift from the contract), served from our own origin with no scripts, so the strict CSP holds.
 */

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: { type?: string; enum?: string[] };
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
  responses?: Record<string, { description?: string }>;
}
export interface OpenApiDocument {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

const refName = (ref: string | undefined) => ref?.split("/").at(-1);

function OperationView({ method, path, op }: { method: string; path: string; op: Operation }) {
  const body = refName(op.requestBody?.content?.["application/json"]?.schema?.$ref);
  return (
    <section>
      <h3 id={`${method}-${path}`}>
        <code>
          {method.toUpperCase()} {path}
        </code>
      </h3>
      {op.summary && <p>{op.summary}</p>}
      {op.description && <p class="hint">{op.description}</p>}
      {op.parameters && op.parameters.length > 0 && (
        <ul>
          {op.parameters.map((p) => (
            <li>
              <code>{p.name}</code> ({p.in}
              {p.required ? ", required" : ""}){p.schema?.enum ? `: one of ${p.schema.enum.join(", ")}` : ""}
              {p.description ? ` — ${p.description}` : ""}
            </li>
          ))}
        </ul>
      )}
      {body && (
        <p>
          Body: JSON <code>{body}</code> (see the document's components)
        </p>
      )}
      <p class="hint">
        Answers:{" "}
        {Object.entries(op.responses ?? {})
          .map(([status, r]) => `${status} ${r.description ?? ""}`)
          .join(" · ")}
      </p>
    </section>
  );
}

export function ReferencePage({ doc, site }: { doc: OpenApiDocument; site: SiteInfo }) {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const tags = [...new Set(operations.map((o) => o.op.tags?.[0] ?? "Other"))];
  return (
    <Layout title={`${doc.info.title} ${doc.info.version}`} site={site}>
      <h1>
        {doc.info.title} {doc.info.version}
      </h1>
      {doc.info.description && <p class="lead">{doc.info.description}</p>}
      <p>
        The machine-readable contract: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).
      </p>
      {tags.map((tag) => (
        <>
          <h2>{tag}</h2>
          {operations
            .filter((o) => (o.op.tags?.[0] ?? "Other") === tag)
            .map((o) => (
              <OperationView method={o.method} path={o.path} op={o.op} />
            ))}
        </>
      ))}
    </Layout>
  );
}
