/** `weir kafka start|stop|status`: the local broker as a long-lived process of its own. */
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../infra/config';
import { ensureTopics, readBrokerInfo, startLocalBroker, stopBrokerByPidFile } from '../infra/kafka/local-broker';
import { CACHE_DIR } from '../infra/paths';

export function registerKafkaCommand(program: Command): void {
  const kafka = program.command('kafka').description('run the local single-node Kafka broker (KRaft) from the Apache jars');
  const dir = () => path.join(loadConfig().dataDir, 'kafka');
  kafka
    .command('start')
    .description('start the broker in the background (data in $DATA_DIR/kafka) and create the topics')
    .action(async () => {
      const running = await readBrokerInfo(dir());
      if (running) {
        console.log(`already running: KAFKA_BROKERS=${running.brokers.join(',')} (pid ${running.pid})`);
        return;
      }
      const broker = await startLocalBroker({ dataDir: dir(), cacheDir: CACHE_DIR, detached: true, log: (m) => console.error(m) });
      const { topics, eventsPartitions } = loadConfig().kafka;
      await ensureTopics(broker.brokers, [
        { topic: topics.events, numPartitions: eventsPartitions },
        { topic: topics.dlq, numPartitions: 1 },
      ]);
      console.log(`KAFKA_BROKERS=${broker.brokers.join(',')} (pid ${broker.pid})`);
    });
  kafka
    .command('stop')
    .description('stop the broker started by `weir kafka start`')
    .action(async () => {
      console.log((await stopBrokerByPidFile(dir())) ? 'stopped' : 'not running');
    });
  kafka
    .command('status')
    .description('print KAFKA_BROKERS of the running local broker')
    .action(async () => {
      const running = await readBrokerInfo(dir());
      console.log(running ? `running: KAFKA_BROKERS=${running.brokers.join(',')} (pid ${running.pid})` : 'not running');
      if (!running) process.exitCode = 1;
    });
}
