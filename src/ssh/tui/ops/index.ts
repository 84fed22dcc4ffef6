/** The ops console in the TUI: one screen per ops area, each running only registry commands. */
import type { TuiApp } from '../apps.ts';
import { alertsTuiApp } from './alerts.ts';
import { deploysTuiApp } from './deploys.ts';
import { nodesTuiApp } from './nodes.ts';
import { seatsTuiApp } from './seats.ts';

export const opsTuiApps: TuiApp[] = [nodesTuiApp, deploysTuiApp, alertsTuiApp, seatsTuiApp];
