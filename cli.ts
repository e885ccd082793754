/** The `weir` command (DESIGN.md section 8). */
import { Command, Option } from 'commander';
import { registerKafkaCommand } from './cli/kafka-command';
import { ROLES, StartupError, startWeir, type Role } from './cli/start';
import { ConfigError, loadConfig } from './infra/config';
import { UsageError } from './infra/errors';
import { createLogger } from './infra/logger';
import { registerGenerateCommand } from './ingest/load-generator/main';
import { registerBatchCommand } from './batch-layer/cli';

const program = new Command('weir').description('Lambda-architecture analytics backend').showHelpAfterError();

program
  .command('start')
  .description('run weir: every role in one process, or one role per process with --role')
  // Repeatable: with the embedded ClickHouse (one data directory per process) the roles that
  // read and write its views (speed, batch, serving) must share a process.
  .addOption(new Option('--role <role...>', 'run only these roles (repeatable; needs KAFKA_BROKERS)').choices([...ROLES]))
  .option('--demo', 'create a demo app and send demo traffic', false)
  .option('--demo-rate <n>', 'demo traffic in events/s', (v) => Number(v), 200)
  .action(async (o: { role?: Role[]; demo: boolean; demoRate: number }) => {
    const cfg = loadConfig();
    const log = createLogger(cfg.logLevel);
    // Handlers first: a signal that arrives during start-up stops weir cleanly once started.
    let signalled: string | undefined;
    let running: Awaited<ReturnType<typeof startWeir>> | undefined = undefined;
    const shutdown = (sig: string) => {
      if (signalled) return;
      signalled = sig;
      log.info({ signal: sig }, 'shutting down: draining, flushing, committing');
      if (running) void running.stop().then(() => process.exit(0));
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    // A closed terminal: the broker no longer shares our process group, so stop it ourselves.
    process.on('SIGHUP', () => shutdown('SIGHUP'));
    running = await startWeir(cfg, { role: o.role, demo: o.demo, demoRate: o.demoRate }, log);
    if (signalled) {
      await running.stop();
      process.exit(0);
    }
    printBanner(running, !cfg.adminToken);
  });

registerKafkaCommand(program);
registerGenerateCommand(program);
registerBatchCommand(program);

function printBanner(r: Awaited<ReturnType<typeof startWeir>>, generatedToken: boolean): void {
  const lines = [
    '',
    `  weir is running at ${r.url}`,
    `  dashboard:   ${r.url}/`,
    `  admin token: ${r.adminToken}${generatedToken ? '  (generated; set ADMIN_TOKEN to choose one)' : ''}`,
  ];
  if (r.adminUrl !== r.url) lines.push(`  admin and /metrics: ${r.adminUrl}`);
  if (r.demoKeys) {
    lines.push(`  demo app:    ${r.demoKeys.app_id}`, `  write key:   ${r.demoKeys.write_key}`, `  read key:    ${r.demoKeys.read_key}`);
  }
  lines.push('  stop with Ctrl-C', '');
  process.stderr.write(lines.join('\n') + '\n');
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof StartupError || err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`weir: ${err.message}\n`);
  } else {
    process.stderr.write(`weir: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
