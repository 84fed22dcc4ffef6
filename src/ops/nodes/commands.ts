/** Node commands: `nodes`, `node describe`, `node cordon`, `node uncordon` (design §2.1). */
import { z } from 'zod';
import { commandHandle, defineCommand, type AnyCommand } from '../registry.ts';
import type { Result } from '../result.ts';
import type { KubeNode, KubePort } from '../kube/index.ts';
import { age, formatBytes, nodeAddress, nodeLocation, nodeReady, nodeRoles, nodeStatus, podSummary, resources } from './format.ts';

/** A Node name is a DNS subdomain (RFC 1123). */
export const nodeName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'expected a node name (lower-case letters, digits, - and .)')
  .describe('the node name');

function nodeJson(n: KubeNode) {
  return {
    name: n.name,
    status: nodeStatus(n),
    ready: nodeReady(n) === 'Ready',
    roles: nodeRoles(n),
    version: n.info.kubeletVersion ?? null,
    internalIp: nodeAddress(n) ?? null,
    addresses: n.addresses,
    location: nodeLocation(n) ?? null,
    cordoned: n.unschedulable,
    capacity: n.capacity,
    allocatable: n.allocatable,
    createdAt: n.createdAt?.toISOString() ?? null,
  };
}

/** Typed handles of the node commands the TUI's Nodes screen calls. */
export const nodesList = commandHandle({
  path: ['nodes'],
  args: z.object({ selector: z.string().min(1).optional().describe('only nodes with these labels, e.g. node-role.kubernetes.io/worker') }),
}).returns<Result>();

export const nodeDescribe = commandHandle({ path: ['node', 'describe'], args: z.object({ name: nodeName }) }).returns<Result>();

export const nodeCordon = commandHandle({ path: ['node', 'cordon'], args: z.object({ name: nodeName }) }).returns<Result>();

export const nodeUncordon = commandHandle({ path: ['node', 'uncordon'], args: z.object({ name: nodeName }) }).returns<Result>();

export function nodeCommands(kube: KubePort): AnyCommand[] {
  const nodes = defineCommand(nodesList, {
    summary: 'List the cluster nodes: status, roles, version, address, Kilo location, cordoned, size, age',
    short: { l: 'selector' },
    permission: 'ops.read',
    mutating: false,
    results: ['table'],
    async run(ctx, args): Promise<Result> {
      const list = await kube.listNodes({ labelSelector: args.selector });
      const now = ctx.clock.now();
      return {
        kind: 'table',
        columns: [
          { key: 'name', label: 'NAME' },
          { key: 'status', label: 'STATUS', priority: 3 },
          { key: 'roles', label: 'ROLES', priority: 1 },
          { key: 'version', label: 'VERSION' },
          { key: 'internalIp', label: 'INTERNAL-IP', priority: 1 },
          { key: 'location', label: 'LOCATION' },
          { key: 'cordoned', label: 'CORDONED', priority: 2 },
          { key: 'cpu', label: 'CPU' },
          { key: 'memory', label: 'MEMORY' },
          { key: 'age', label: 'AGE' },
        ],
        rows: list.map((n) => ({
          name: n.name,
          status: nodeStatus(n),
          roles: nodeRoles(n).join(',') || '<none>',
          version: n.info.kubeletVersion ?? '-',
          internalIp: nodeAddress(n) ?? '-',
          location: nodeLocation(n) ?? '-',
          cordoned: n.unschedulable ? 'yes' : 'no',
          cpu: n.allocatable.cpu ?? '-',
          memory: formatBytes(n.allocatable.memory),
          age: age(n.createdAt, now),
        })),
        empty: 'no nodes',
        json: list.map(nodeJson),
      };
    },
  });

  const describe = defineCommand(nodeDescribe, {
    summary: 'Show one node in detail: conditions, capacity, the pods on it and recent events',
    positionals: ['name'],
    permission: 'ops.read',
    mutating: false,
    results: ['record'],
    async run(ctx, args): Promise<Result> {
      const node = await kube.getNode(args.name);
      const [pods, events] = await Promise.all([kube.listPods({ nodeName: node.name }), kube.listEvents({ kind: 'Node', name: node.name })]);
      const now = ctx.clock.now();
      const recent = events.slice(-10);
      return {
        kind: 'record',
        title: `node ${node.name}`,
        fields: [
          { label: 'Name', value: node.name },
          { label: 'Status', value: nodeStatus(node) },
          { label: 'Roles', value: nodeRoles(node).join(', ') || '<none>' },
          { label: 'Version', value: node.info.kubeletVersion ?? '-' },
          {
            label: 'System',
            value: [node.info.osImage, node.info.kernelVersion, node.info.containerRuntimeVersion, node.info.architecture].filter(Boolean).join(', ') || '-',
          },
          { label: 'Addresses', value: node.addresses.map((a) => `${a.type} ${a.address}`).join(', ') || '-' },
          { label: 'Location', value: nodeLocation(node) ?? '-' },
          { label: 'Cordoned', value: node.unschedulable ? 'yes' : 'no' },
          { label: 'Taints', value: node.taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') || '<none>' },
          { label: 'Created', value: node.createdAt ? `${node.createdAt.toISOString()} (${age(node.createdAt, now)} ago)` : '-' },
          { label: 'Conditions', value: node.conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ') || '-' },
          { label: 'Capacity', value: resources(node.capacity) },
          { label: 'Allocatable', value: resources(node.allocatable) },
          { label: 'Pods', value: pods.length ? `${pods.length}: ${pods.map(podSummary).join(', ')}` : 'none' },
          { label: 'Events', value: recent.length ? recent.map((e) => `${age(e.lastAt, now)} ago ${e.type} ${e.reason}: ${e.message}`).join('; ') : 'none' },
        ],
        json: {
          ...nodeJson(node),
          labels: node.labels,
          annotations: node.annotations,
          taints: node.taints,
          conditions: node.conditions.map((c) => ({ ...c, lastTransitionTime: c.lastTransitionTime?.toISOString() ?? null })),
          system: node.info,
          pods: pods.map((p) => ({
            namespace: p.namespace,
            name: p.name,
            phase: p.phase,
            ready: `${p.readyContainers}/${p.containers}`,
            restarts: p.restarts,
            controller: p.controller ?? null,
            terminating: p.deleting,
          })),
          events: recent.map((e) => ({
            type: e.type,
            reason: e.reason,
            message: e.message,
            count: e.count,
            source: e.source ?? null,
            lastAt: e.lastAt?.toISOString() ?? null,
          })),
        },
      };
    },
  });

  const setCordon = (cordon: boolean) =>
    defineCommand(cordon ? nodeCordon : nodeUncordon, {
      summary: cordon ? 'Mark a node unschedulable (running pods stay)' : 'Let new pods be scheduled on a node again',
      positionals: ['name'],
      permission: 'ops.nodes',
      mutating: true,
      results: ['message'],
      async run(ctx, args): Promise<Result> {
        const node = await kube.getNode(args.name);
        const word = cordon ? 'cordoned' : 'uncordoned';
        if (node.unschedulable === cordon)
          return { kind: 'message', text: `node ${node.name} already ${word}`, json: { node: node.name, cordoned: cordon, changed: false } };
        const patched = await kube.patchNode(node.name, { unschedulable: cordon });
        ctx.log.info({ node: node.name, actor: ctx.actor.name }, `node ${word}`);
        return { kind: 'message', text: `node ${patched.name} ${word}`, json: { node: patched.name, cordoned: patched.unschedulable, changed: true } };
      },
    });

  return [nodes, describe, setCordon(true), setCordon(false)];
}
