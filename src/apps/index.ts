import type { HttpServer } from '../http/server.ts';
import type { Services } from '../ops/context.ts';
import type { Registry } from '../ops/registry.ts';
import type { TuiHost } from '../ssh/tui/host.ts';
import { pasteApp } from './paste/index.ts';
import { pubsubApp } from './pubsub/index.ts';
import { alertsModule } from '../ops/alerts/index.ts';
import { nodesModule } from '../ops/nodes/index.ts';
import { seatsModule } from '../ops/seats/index.ts';
import { deploysModule } from '../ops/deploys/index.ts';

/** What an app gets at start: where to register its commands, TUI screen and HTTP routes. */
export interface AppHost {
  services: Services;
  registry: Registry;
  tui: TuiHost;
  http: HttpServer;
  /** The boot listener (nodes.bootListen) for pixiecore's API only; never reachable from the public HTTP listener. */
  bootHttp: HttpServer;
  /** Publicly reachable base URL for links labd prints (LABD_PUBLIC_URL, else the HTTP listener). */
  publicUrl: string;
  /** Runs at shutdown (stop timers, close streams). */
  onStop(fn: () => void | Promise<void>): void;
}

/** An SSH app (paste, pub/sub, git, crm …): owns its store, commands, TUI screen and routes. */
export interface LabdApp {
  name: string;
  install(host: AppHost): void;
}

/** Every app labd serves. Each app adds itself here with one import and one entry. */
export const APPS: LabdApp[] = [pasteApp, pubsubApp, nodesModule, deploysModule, alertsModule, seatsModule];
