/**
 * Neutral command results. Each front-end has one renderer per kind
 * (text and JSON over SSH, HTML in Matrix, widgets in the TUI).
 */
export interface Column {
  key: string;
  label: string;
  /** Where the screen is narrow (the TUI), higher is kept longer; default 0 (see src/core/table-layout.ts). */
  priority?: number;
  align?: 'left' | 'right';
}

export type Result =
  | { kind: 'table'; columns: Column[]; rows: Record<string, unknown>[]; empty?: string; json?: unknown }
  | { kind: 'record'; title?: string; fields: { label: string; value: unknown }[]; json: unknown }
  | { kind: 'message'; text: string; json?: unknown }
  | { kind: 'help'; title: string; text: string; json: unknown }
  /** The command already wrote its output to the session's stdout (e.g. `paste cat`). */
  | { kind: 'streamed'; json?: unknown; /** The exit status for the client (a git process's own); 0 when absent. */ exitStatus?: number };

export type ResultKind = Result['kind'];

export const RESULT_KINDS = ['table', 'record', 'message', 'help', 'streamed'] as const satisfies readonly Result['kind'][];

/** The JSON document a result stands for on `--json`. */
export function resultJson(result: Result): unknown {
  switch (result.kind) {
    case 'table':
      return result.json ?? result.rows;
    case 'record':
      return result.json;
    case 'message':
      return result.json ?? { message: result.text };
    case 'help':
      return result.json;
    case 'streamed':
      return result.json ?? null;
  }
}
