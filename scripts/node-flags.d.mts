/** See node-flags.mjs. */
export declare const LABD_NODE_FLAGS: readonly string[];
