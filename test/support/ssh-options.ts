/**
 * The OpenSSH client options every test and bench uses: no user config, no known-hosts file, no agent,
 * only the identity given, quiet. One list, so a target's options differ only where a caller says so.
 */
export interface SshClientOptions {
  /** Private key file: with it the client offers only that key (BatchMode, IdentitiesOnly). */
  identity?: string;
  /** Without an identity: BatchMode stays off (it would turn keyboard-interactive off, even without prompts). */
  logLevel?: string;
  connectTimeout?: number;
}

export function sshClientOptions(o: SshClientOptions = {}): string[] {
  const args = ['-F', '/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentityAgent=none'];
  args.push('-o', `LogLevel=${o.logLevel ?? 'ERROR'}`);
  if (o.connectTimeout !== undefined) args.push('-o', `ConnectTimeout=${o.connectTimeout}`);
  if (o.identity) args.push('-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', o.identity);
  return args;
}
