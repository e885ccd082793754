/** The fault matrix, in the order it runs. */
import type { Scenario } from '../scenario';
import { batchSwapKill } from './batch-swap-kill';
import { diskFull } from './disk-full';
import { outages } from './outages';
import { processKills } from './process-kills';
import { stalls } from './stalls';
import { topicRecreated } from './topic-recreated';

export const SCENARIOS: Scenario[] = [...processKills, batchSwapKill, ...outages, ...stalls, topicRecreated, diskFull];
