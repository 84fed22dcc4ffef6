/** Alertmanager's webhook body (version 4), validated before anything is stored. */
import { z } from 'zod';

const labelSet = z.record(z.string().max(1024), z.string().max(16 * 1024));
const timestamp = z
  .string()
  .max(64)
  .refine((v) => Number.isFinite(Date.parse(v)), 'expected an RFC 3339 time');

export const webhookAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet.refine((l) => Object.keys(l).length > 0, 'an alert needs at least one label'),
  annotations: labelSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().max(4096).default(''),
  fingerprint: z.string().min(1).max(128),
});

/** Not strict: newer Alertmanagers add fields (notification_reason, routeLabels). */
export const webhookPayload = z.object({
  version: z.literal('4'),
  groupKey: z.string().min(1).max(8192),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(1024),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().max(4096).default(''),
  alerts: z.array(webhookAlert).max(100_000),
});

export type WebhookPayload = z.infer<typeof webhookPayload>;
export type WebhookAlert = z.infer<typeof webhookAlert>;

/** Alertmanager writes the zero time (year 1) for "no end yet". */
export function optionalTime(text: string | undefined): Date | null {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : null;
}
