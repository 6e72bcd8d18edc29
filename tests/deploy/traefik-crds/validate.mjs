// Validates Traefik objects against Traefik's CRD schemas: reads a JSON list of objects on
// stdin, prints a JSON list of {kind, name, errors} (errors empty when valid). The schemas
// are @kubernetes-models/traefik's, compiled from the traefik.io/v1alpha1 CRDs.
// Used by tests/deploy (crds.py); installed with `npm ci` by `make install`.
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const obj of objects) {
  const kind = String(obj.kind ?? "");
  const result = { kind, name: obj.metadata?.name ?? null, errors: [] };
  if (!/^[A-Za-z]+$/.test(kind)) {
    result.errors.push(`not a Traefik kind: ${kind}`);
  } else {
    try {
      const module = await import(`@kubernetes-models/traefik/traefik.io/v1alpha1/${kind}`);
      new module[kind](obj).validate();
    } catch (error) {
      result.errors.push(error.code === "ERR_MODULE_NOT_FOUND" ? `no schema for ${kind}` : error.message);
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
