/** The little of oidc-provider 9's API the test OpenID Provider uses (the package ships no types). */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown> & { findAccount?(ctx: unknown, sub: string): Promise<Account | undefined> });
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    /** A Koa middleware run around oidc-provider's own (code after `await next()` sees its response). */
    use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): this;
  }

  /** The few Koa context fields a middleware reads and writes. */
  export interface ProviderContext {
    method: string;
    path: string;
    status: number;
    body: unknown;
  }
}
