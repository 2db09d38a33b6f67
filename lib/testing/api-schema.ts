import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

/**
 * The Docker Engine API spec the responses are checked against: moby's v1.43
 * document, which scripts/fetch-api-spec.sh (part of the test setup) takes from
 * its Go module. NERDCTLD_API_SPEC overrides.
 */
export const API_SPEC_PATH =
  process.env.NERDCTLD_API_SPEC ?? join(import.meta.dirname, "..", "..", "node_modules", ".cache", "nerdctld", "docker-api", "v1.43.yaml");

interface SwaggerSpec {
  definitions: Record<string, unknown>;
  paths: Record<string, Record<string, { responses: Record<string, { schema?: unknown }> }>>;
}

let compiled: { spec: SwaggerSpec; ajv: Ajv; cache: Map<string, ValidateFunction | null> } | undefined;

function load() {
  if (compiled) return compiled;
  if (!existsSync(API_SPEC_PATH)) throw new Error(`no Docker API spec at ${API_SPEC_PATH}: run scripts/fetch-api-spec.sh (npm test does)`);
  const spec = parse(readFileSync(API_SPEC_PATH, "utf8")) as SwaggerSpec;
  // Swagger 2 schemas are draft-4 JSON Schema plus x- extensions; Docker's also use `example` freely.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "docker", definitions: mapValues(spec.definitions, rebase) });
  compiled = { spec, ajv, cache: new Map() };
  return compiled;
}

/**
 * Rewrites local refs so they resolve against the shared definitions document,
 * and lets arrays and objects be null: Swagger 2 cannot say "nullable", and Go
 * encodes nil slices and maps as null — dockerd itself answers null there
 * (`"ExecIDs": null`), and clients decode both alike. `x-nullable` is honoured.
 */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema && typeof schema === "object") {
    const entries = Object.entries(schema).map(([key, value]) => [
      key,
      key === "$ref" && typeof value === "string" ? value.replace(/^#\//, "docker#/") : key === "properties" ? mapValues(value, rebase) : rebase(value),
    ]);
    const rebased = Object.fromEntries(entries) as Record<string, unknown>;
    const type = rebased.type;
    if (type === "array" || type === "object" || (typeof type === "string" && rebased["x-nullable"] === true)) {
      rebased.type = [type, "null"];
      if (Array.isArray(rebased.enum)) rebased.enum = [...rebased.enum, null];
    }
    return rebased;
  }
  return schema;
}

function mapValues(value: unknown, map: (item: unknown) => unknown): unknown {
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, map(item)]));
}

/**
 * Checks a JSON response body against the spec's schema for that operation and
 * status. Returns the violations (empty when it conforms, or when the spec
 * declares no schema for that response).
 */
export function schemaViolations(method: string, template: string, status: number, body: unknown): string[] {
  const { spec, ajv, cache } = load();
  const key = `${method} ${template} ${status}`;
  if (!cache.has(key)) {
    const operation = spec.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the API spec has no operation ${method} ${template}`);
    const schema = operation.responses[String(status)]?.schema;
    cache.set(key, schema ? ajv.compile(rebase(schema) as object) : null);
  }
  const validate = cache.get(key);
  if (!validate || validate(body)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? "is invalid"}`);
}
