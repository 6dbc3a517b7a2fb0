import { createElement } from "react";

/**
 * Placeholders for the Outlook for Windows fixed-width column (conditional comments cannot be
 * written in JSX). `renderEmail` (src/course/render.ts) turns them into `<!--[if mso]>` tables;
 * every other client never sees them.
 */
export const MsoColumnStart = () => createElement("x-mso-column-start");
export const MsoColumnEnd = () => createElement("x-mso-column-end");
