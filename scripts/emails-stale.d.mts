/** src/mail/templates.generated.ts, from the project root. */
export declare const OUTPUT: string;
/** SHA-256 (hex) of the renderer's versions and the named input files (paths from the project root). */
export declare function hashOf(inputs: readonly string[]): string;
/** Whether the committed output is missing or was built from other inputs than today's. */
export declare function emailsStale(): boolean;
/** Builds the compiled emails (scripts/build-emails.ts, under tsx) only when they are stale. */
export declare function buildEmailsIfStale(): void;
