/**
 * Who may create an account, and how (issue #14, `auth.signup`):
 * - `closed`: only admins add users;
 * - `invite`: only with an invite code (`join CODE`);
 * - `sso`:    certificates from the trusted CA and OIDC logins create accounts; invites work too;
 * - `open`:   as `sso`, and anyone may sign up with a plain key.
 * New accounts get `auth.defaultRole` (or the invite's role), raised by principal / group mappings.
 */
export const SIGNUP_POLICIES = ['closed', 'invite', 'sso', 'open'] as const;
export type SignupPolicy = (typeof SIGNUP_POLICIES)[number];

/** How an account would come to exist. */
export type SignupSource = 'certificate' | 'oidc' | 'invite' | 'key';

const ALLOWED: Record<SignupPolicy, readonly SignupSource[]> = {
  closed: [],
  invite: ['invite'],
  sso: ['certificate', 'oidc', 'invite'],
  open: ['certificate', 'oidc', 'invite', 'key'],
};

export function signupAllows(policy: SignupPolicy, source: SignupSource): boolean {
  return ALLOWED[policy].includes(source);
}

/** Why a sign-up was refused, for the person trying (and the log). */
export function signupRefusal(policy: SignupPolicy, source: SignupSource): string {
  if (policy === 'closed') return 'sign-up is closed on this lab: ask an admin to add you';
  if (policy === 'invite') return 'this lab signs people up by invite only: ask an admin for an invite, then `ssh lab join CODE`';
  return `sign-up by ${source === 'key' ? 'a plain key' : source} is not allowed on this lab (auth.signup = ${policy})`;
}
