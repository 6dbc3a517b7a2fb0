import type { BuildResult } from "esbuild";

/** dist-node/server: where `npm run build` writes and `npm start` runs from. */
export declare const OUT_DIR: string;
/** Whether the last build is missing or older than a file it was built from. */
export declare function isStale(): boolean;
/** Bundles src/node.ts and the CLI entries into `outDir` (two levels below the project root). */
export declare function buildNode(outDir?: string): Promise<BuildResult<{ metafile: true }>>;
