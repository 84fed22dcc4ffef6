/** The command context types live with the registry (one file, no import circle); re-exported for modules. */
export type { CommandContext, Services, SessionIO } from './registry.ts';
