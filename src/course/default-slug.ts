/**
 * The default course's slug: the course at `/`, and the course of rows and links made before there
 * were several (migration 0004). A leaf module, so the schema, the registry and the email build
 * share it without importing each other.
 */
export const DEFAULT_COURSE_SLUG = "clear-skin";
