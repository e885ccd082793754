/**
 * What no schema knows about weir's deploy files: every environment variable set for weir is
 * one it reads (a misspelt name would be ignored silently), each role runs exactly once in
 * deploy/compose.yaml and once in deploy/k8s/, the probes ask /health and /ready on the port
 * weir listens on, the Ingress sends every collector route to ingest, kustomization.yaml lists
 * every manifest, and the image's Node is the one setup.sh installs. scripts/check-deploy.sh
 * runs it after the schema validators (Kubernetes, compose) and the Dockerfile linter.
 *   bash scripts/with-node.sh node --import tsx scripts/check-deploy.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ROLES } from '../cli/start';
import { CONFIG_VARIABLES } from '../infra/config';
import { SEGMENT_PATHS } from '../ingest/collector/routes/segment';

const root = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const problems: string[] = [];
const expect = (ok: boolean, problem: string) => ok || problems.push(problem);
const sameSet = (a: Iterable<string>, b: Iterable<string>) => [...a].sort().join() === [...b].sort().join();
const known = new Set(CONFIG_VARIABLES);
const checkNames = (where: string, names: string[], alsoAllowed: string[] = []) => {
  for (const n of names) expect(known.has(n) || alsoAllowed.includes(n), `${where}: ${n} is no variable weir reads (infra/config.ts)`);
};
/** The value after `--role` in a container's command. */
const roleOf = (args: unknown): string | undefined => (Array.isArray(args) ? args[args.indexOf('--role') + 1] : undefined);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  args?: string[];
  ports?: { name: string; containerPort: number }[];
  startupProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
  readinessProbe?: { httpGet?: { path: string; port: string } };
}

function readKubernetes(): K8sObject[] {
  const dir = 'deploy/k8s';
  const files = readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.yaml'));
  const kustomization = parse(read(`${dir}/kustomization.yaml`)) as { resources: string[] };
  expect(sameSet(kustomization.resources, files.filter((f) => f !== 'kustomization.yaml')), `${dir}/kustomization.yaml must list every other manifest in ${dir}`);
  const objects: K8sObject[] = [];
  for (const file of files.filter((f) => f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(read(`${dir}/${file}`))) {
      if (doc.errors.length) {
        problems.push(`${dir}/${file}: ${doc.errors[0].message}`);
        continue;
      }
      objects.push(doc.toJS() as K8sObject);
    }
  }
  return objects;
}

function checkWeirOnKubernetes(objects: K8sObject[]): void {
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'weir-config');
  if (!config?.data) return void problems.push('deploy/k8s: no ConfigMap weir-config');
  checkNames('deploy/k8s/configmap.yaml', Object.keys(config.data));
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const roles: string[] = [];
  for (const d of deployments) {
    const where = `deploy/k8s Deployment ${d.metadata.name}`;
    const c = (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0];
    const role = roleOf(c.args);
    if (role) roles.push(role);
    const port = (name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
    expect(String(port('http')) === config.data.PORT, `${where}: port http must be PORT (${config.data.PORT})`);
    expect(String(port('internal')) === config.data.INTERNAL_PORT, `${where}: port internal must be INTERNAL_PORT (${config.data.INTERNAL_PORT})`);
    const probe = (p: Container['livenessProbe']) => `${p?.httpGet?.path} on ${p?.httpGet?.port}`;
    expect(probe(c.startupProbe) === '/health on http', `${where}: the startup probe must ask /health on http`);
    expect(probe(c.livenessProbe) === '/health on http', `${where}: the liveness probe must ask /health on http`);
    expect(probe(c.readinessProbe) === '/ready on http', `${where}: the readiness probe must ask /ready on http`);
  }
  expect(roles.length === deployments.length && sameSet(roles, ROLES), `deploy/k8s: one Deployment per role (${ROLES.join(', ')}), got ${roles.join(', ')}`);
  expect(!objects.some((o) => o.kind === 'CronJob'), 'deploy/k8s: the batch layer schedules itself under its lease; no CronJob');

  const ingress = objects.find((o) => o.kind === 'Ingress');
  type Path = { path: string; backend: { service: { name: string } } };
  const paths = ((ingress?.spec as { rules?: { http: { paths: Path[] } }[] })?.rules ?? []).flatMap((r) => r.http.paths);
  const toIngest = paths.filter((p) => p.backend.service.name === 'weir-ingest').map((p) => p.path);
  expect(sameSet(toIngest, ['/v1/events', ...SEGMENT_PATHS]), `deploy/k8s/ingress.yaml: the collector's routes go to weir-ingest (/v1/events, ${SEGMENT_PATHS.join(' ')})`);
}

function checkCompose(): void {
  type Service = { image?: string; command?: string[]; environment?: Record<string, unknown> };
  const compose = parse(read('deploy/compose.yaml'), { merge: true }) as { services: Record<string, Service> };
  const weir = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('weir'));
  for (const [name, s] of weir) checkNames(`deploy/compose.yaml service ${name}`, Object.keys(s.environment ?? {}));
  const roles = weir.map(([, s]) => roleOf(s.command) ?? '?');
  expect(roles.length === ROLES.length && sameSet(roles, ROLES), `deploy/compose.yaml: one service per role (${ROLES.join(', ')}), got ${roles.join(', ')}`);
}

function checkSecretsAndImage(): void {
  // Commented-out names too: an operator uncomments them as they are.
  const secrets = [...read('deploy/.env.example').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  checkNames('deploy/.env.example', secrets);
  const dockerfile = read('Dockerfile');
  const env = [...dockerfile.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)].flatMap((m) => [...m[1].matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((n) => n[1]));
  checkNames('Dockerfile ENV', env, ['NODE_ENV']);
  const nodeVersion = /^NODE_VERSION=(\S+)/m.exec(read('scripts/setup.sh'))?.[1];
  expect(dockerfile.includes(`node:${nodeVersion}-`), `Dockerfile: its Node image must be scripts/setup.sh's NODE_VERSION (${nodeVersion})`);
}

function main(): void {
  const objects = readKubernetes();
  checkWeirOnKubernetes(objects);
  checkCompose();
  checkSecretsAndImage();
  if (problems.length) {
    process.stderr.write(`check-deploy: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write(`check-deploy: ${objects.length} Kubernetes objects, compose.yaml, .env.example and the Dockerfile agree with weir's roles, routes and variables\n`);
}

main();
