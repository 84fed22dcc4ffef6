import type { TuiScreenContext } from '../apps.ts';

/** Whether the registry would let this actor run the command: the command's own declared permission decides. */
export function allowed(ctx: TuiScreenContext, path: string[]): boolean {
  const command = ctx.registry.get(path);
  return !!command && ctx.registry.allowed(ctx.actor, command);
}
