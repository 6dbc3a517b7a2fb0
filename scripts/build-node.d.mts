import type { BuildOptions, BuildResult } from "esbuild";

/** dist-node/server: where `npm run build` writes and `npm start` runs from. */
export declare const OUT_DIR: string;
/** Whether the last build is missing or older than a file it was built from. */
export declare function isStale(): boolean;
/** Bundles src/node.ts and the CLI entries into `outDir` (two levels below the project root). */
export declare function buildNode(outDir?: string): Promise<BuildResult<{ metafile: true }>>;
/** The esbuild options every Node bundle here shares (ESM, node20, NODE_ENV=production compiled in). */
export declare const NODE_BUNDLE: BuildOptions;
