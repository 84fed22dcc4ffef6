/**
 * The typed handles of the git commands that screens call (the TUI's Git screen): their words,
 * argument schemas and result types. commands.ts defines each command from its handle, so a
 * renamed command or field breaks the build of the screen, not the screen at run time.
 */
import { z } from 'zod';
import { commandHandle, type ResultOf } from '../../ops/registry.ts';
import type { AccessLevel } from './access.ts';
import type { CommitInfo, RefInfo, TreeEntry } from './repos.ts';

const name = z.string().describe('repository name, e.g. dotfiles or tools/cli');
const ref = z.string().optional().describe('branch, tag or commit (default: HEAD)');
export const MAX_LOG = 1000;
/** `repo branches`/`repo tags` list a page of refs by name: a repository may hold 100k tags. */
export const REFS_PAGE = 100;
export const MAX_REFS = 1000;

/** A repository as `repo ls` and `repo info` give it in JSON. */
export interface RepoJson {
  name: string;
  projectName: string;
  description: string;
  private: boolean;
  hidden: boolean;
  mirror: string | null;
  cloneSsh: string;
  cloneHttp: string;
  createdAt: string;
  updatedAt: string | null;
  access?: AccessLevel;
}

/** A commit or a ref with its date as text, as the JSON documents carry them. */
export type DatedJson<T extends { date: Date }> = Omit<T, 'date'> & { date: string };

export interface BlobJson {
  name: string;
  path: string;
  size: number;
  binary?: boolean;
  text?: string;
  truncated?: boolean;
}

export const repoLs = commandHandle({
  path: ['repo', 'ls'],
  args: z.object({ all: z.boolean().default(false).describe('include hidden repositories') }),
}).returns<ResultOf<'table', RepoJson[]>>();

export const repoInfo = commandHandle({ path: ['repo', 'info'], args: z.object({ name }) }).returns<ResultOf<'record', RepoJson>>();

export const repoTree = commandHandle({
  path: ['repo', 'tree'],
  args: z.object({ name, path: z.string().optional().describe('a folder (or a file) in the repository'), ref }),
}).returns<ResultOf<'table', TreeEntry[]>>();

export const repoBlob = commandHandle({
  path: ['repo', 'blob'],
  args: z.object({ name, path: z.string().describe('a file in the repository'), ref, lines: z.boolean().default(false).describe('number the lines') }),
}).returns<ResultOf<'message' | 'streamed', BlobJson>>();

export const repoLog = commandHandle({
  path: ['repo', 'log'],
  args: z.object({ name, ref, count: z.coerce.number().int().min(1).max(MAX_LOG).default(20).describe(`how many (at most ${MAX_LOG})`) }),
}).returns<ResultOf<'table', DatedJson<CommitInfo>[]>>();

const refsHandle = (word: 'branches' | 'tags') =>
  commandHandle({
    path: ['repo', word],
    args: z.object({
      name,
      after: z.string().optional().describe(`list the ${word} after this name (the next page)`),
      count: z.coerce.number().int().min(1).max(MAX_REFS).default(REFS_PAGE).describe(`how many (at most ${MAX_REFS})`),
    }),
  }).returns<ResultOf<'table', DatedJson<RefInfo>[]>>();
export const repoBranches = refsHandle('branches');
export const repoTags = refsHandle('tags');

export const repoShow = commandHandle({
  path: ['repo', 'show'],
  args: z.object({ name, commit: z.string().optional().describe('a commit, branch or tag (default: HEAD)') }),
}).returns<ResultOf<'message', DatedJson<CommitInfo> & { body: string; parents: string[]; patch: string; truncated: boolean }>>();
