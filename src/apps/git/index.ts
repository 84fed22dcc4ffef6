import { join } from 'node:path';
import type { Highlighter } from '../../core/highlight/index.ts';
import type { Logger } from '../../core/logger.ts';
import type { PermissionCheck } from '../../core/permissions.ts';
import type { Config } from '../../config/schema.ts';
import type { OpsEventsPort } from '../../ops/events/index.ts';
import type { IdentityStore } from '../../ops/identity/store.ts';
import type { LabdModule } from '../../ops/module.ts';
import type { TuiApp } from '../../ssh/tui/apps.ts';
import { gitTuiApp } from './tui.ts';
import type { Clock } from '../../core/clock.ts';
import { gitCommands } from './commands.ts';
import { gitHttpRoutes } from './http.ts';
import { tokenCommands } from './tokens.ts';
import { gitWebRoutes } from './web.ts';
import { mirrorCommands, mirrorJob } from './mirrors.ts';
import { GitProcessLimit } from './process-limit.ts';
import { GitRepos } from './repos.ts';
import { ByteBudget } from './request-body.ts';
import { ImportSources } from './import-source.ts';
import { GitQuota } from './quota.ts';
import { GitAccess } from './service.ts';
import type { RepoStore } from './store.ts';
import type { TokenStore } from '../../ops/tokens/store.ts';
import type { TokenActors } from '../../ops/tokens/actor.ts';
import { transportCommands } from './transport.ts';

/** The git forge: repo commands, the SSH transport (as commands), and later the web view and mirrors. */
export function gitModule(deps: {
  store: RepoStore;
  /** The one token store: HTTP clones authenticate with tokens of scope git. */
  tokens: TokenStore;
  /** HTTP requests with a token act as its user, resolved at every request (account state, git.read). */
  tokenActors: TokenActors;
  /** tokens.maxPerUser: `repo token create` makes the same tokens as `token create`, under the same quota. */
  maxTokensPerUser: number;
  identities: IdentityStore;
  config: Config['git'];
  dataDir: string;
  /** The live permission table (src/ops/access): role and user grants as admins set them. */
  permissions: PermissionCheck;
  events: Pick<OpsEventsPort, 'emit'>;
  sshUrl: string;
  publicUrl: string;
  highlighter: Highlighter;
  clock: Clock;
  log: Logger;
}): LabdModule<TuiApp> {
  const repos = new GitRepos(join(deps.dataDir, 'repos'), deps.config.binary);
  repos.prepare();
  const access = new GitAccess(deps.store, deps.permissions, deps.config.anonAccess);
  // One bound on the git processes that serve clients, over SSH and HTTP together.
  const processes = new GitProcessLimit({ max: deps.config.maxProcesses, perClient: deps.config.maxProcessesPerClient });
  const idleMs = deps.config.idleTimeout.ms;
  const sources = new ImportSources({ allowPrivate: deps.config.importAllowPrivate, allow: deps.config.importAllow }, undefined, deps.log);
  const quota = new GitQuota(deps.store, repos, { ...deps.config.quota, maxPushBytes: deps.config.maxPushBytes });
  const httpDeps = {
    store: deps.store,
    tokenActors: deps.tokenActors,
    repos,
    access,
    clock: deps.clock,
    log: deps.log,
    maxBody: deps.config.httpMaxBody,
    inflight: new ByteBudget(deps.config.httpMaxInflight),
    processes,
    idleMs,
  };
  return {
    name: 'git',
    permissions: [
      { name: 'git.read', summary: 'clone and browse repositories', roles: ['admin', 'operator', 'member', 'guest'] },
      { name: 'git.write', summary: 'create repositories and push', roles: ['admin', 'operator'] },
    ],
    commands: [
      ...gitCommands({
        store: deps.store,
        repos,
        access,
        identities: deps.identities,
        maxReposPerUser: deps.config.quota.repos,
        sshUrl: deps.sshUrl,
        publicUrl: deps.publicUrl,
      }),
      ...transportCommands({ store: deps.store, repos, access, events: deps.events, quota, log: deps.log, processes, idleMs }),
      ...tokenCommands({ tokens: deps.tokens, publicUrl: deps.publicUrl, maxPerUser: deps.maxTokensPerUser }),
      ...mirrorCommands({ store: deps.store, repos, access, quota, sources, log: deps.log, sshUrl: deps.sshUrl, publicUrl: deps.publicUrl }),
    ],
    screens: [gitTuiApp],
    jobs: [mirrorJob({ store: deps.store, repos, sources, quota, log: deps.log }, deps.config.mirrorInterval.ms)],
    routes: [...gitHttpRoutes(httpDeps), ...gitWebRoutes({ ...httpDeps, sshUrl: deps.sshUrl, publicUrl: deps.publicUrl, highlighter: deps.highlighter })],
  };
}
