/** @jsxImportSource hono/jsx */
import { siteInfo } from "../routes/helpers";
import { ReferencePage, type OpenApiDocument } from "./reference";
import { api } from "./routes";
import "./webhook-routes";

/**
 * The API as mounted by src/app.tsx: the routes, the OpenAPI 3.1 document generated from their
 * schemas, and the reference page rendered from that document.
 */

const DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "Course API",
    version: "v1",
    description: "Enroll people in courses, manage subscribers, read course statistics and events, and register webhook endpoints.",
  },
};

api.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
  type: "http",
  scheme: "bearer",
  description: "An API key from `npm run admin:key -- create <name> [--scope read|write]`.",
});

/**
 * The document is a pure function of the routes' schemas: built on first use (every route is
 * registered by then) and kept for the life of the process or isolate, not rebuilt per request.
 */
let document: OpenApiDocument | undefined;
const openApiDocument = () => (document ??= api.getOpenAPI31Document(DOCUMENT) as unknown as OpenApiDocument);

api.get("/api/v1/openapi.json", (c) => c.json({ ...openApiDocument(), servers: [{ url: c.get("deps").config.appUrl }] }));

api.get("/api/v1/reference", (c) => c.html(<ReferencePage doc={openApiDocument()} site={siteInfo(c.get("deps").config)} />));

export const apiRoutes = api;
