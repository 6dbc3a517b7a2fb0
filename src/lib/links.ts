import { signEmailLinkToken } from "./link-token";
import { CONFIRM_TOKEN_TTL_MS, signToken, type SignupDetails } from "./tokens";

/** Absolute links for emails and pages. Tokens go in the path or query, never anything personal. */

export function confirmUrl(appUrl: string, token: string): string {
  return `${appUrl}/confirm?token=${encodeURIComponent(token)}`;
}

export function manageUrl(appUrl: string, token: string): string {
  return `${appUrl}/manage/${encodeURIComponent(token)}`;
}

export function unsubscribeUrl(appUrl: string, token: string): string {
  return `${appUrl}/unsubscribe/${encodeURIComponent(token)}`;
}

export function lessonUrl(appUrl: string, slug: string, token: string): string {
  return `${appUrl}/lessons/${encodeURIComponent(slug)}?token=${encodeURIComponent(token)}`;
}

/** A confirmation link (expires after CONFIRM_TOKEN_TTL_MS); `details` are applied when it is used. */
export async function signedConfirmUrl(
  appUrl: string,
  secret: string,
  subscriberId: string,
  nonce: number,
  now: number,
  details?: SignupDetails,
  /** The course the confirmation enrols in (a slug); absent = the default course. */
  course?: string,
) {
  const token = await signToken(secret, { purpose: "confirm", subscriberId, nonce, expiresAt: now + CONFIRM_TOKEN_TTL_MS, details, course });
  return confirmUrl(appUrl, token);
}

export interface SubscriberLinks {
  manageUrl: string;
  unsubscribeUrl: string;
}

/**
 * The manage link (every course of the subscriber) and the unsubscribe link. With `course` (a slug)
 * the unsubscribe link, the one in a lesson's List-Unsubscribe header, leaves that course only.
 */
export async function signedSubscriberLinks(appUrl: string, secret: string, subscriberId: string, course?: string): Promise<SubscriberLinks> {
  const [manage, unsubscribe] = await Promise.all([
    signToken(secret, { purpose: "manage", subscriberId }),
    signToken(secret, { purpose: "unsubscribe", subscriberId, course }),
  ]);
  return { manageUrl: manageUrl(appUrl, manage), unsubscribeUrl: unsubscribeUrl(appUrl, unsubscribe) };
}

/** The two answers to "Was this lesson helpful?", as they appear in feedback URLs. */
export const FEEDBACK_CHOICES = ["helpful", "not-helpful"] as const;
export type FeedbackChoice = (typeof FEEDBACK_CHOICES)[number];

export function feedbackUrl(appUrl: string, token: string, choice: FeedbackChoice): string {
  return `${appUrl}/feedback/${encodeURIComponent(token)}/${choice}`;
}

export interface LessonEmailLinks {
  /** The subscriber's manage page (every course of theirs). */
  manageUrl: string;
  /** Leaves the email's course only (also the List-Unsubscribe header's URL: RFC 8058 one-click POST). */
  unsubscribeUrl: string;
  /** The lesson as a web page. */
  viewInBrowserUrl: string;
  /** "Was this lesson helpful?": Yes / Not really, for this lesson in this run. */
  helpfulUrl: string;
  notHelpfulUrl: string;
}

/**
 * Every link of one lesson email, all carrying one token (src/lib/link-token.ts), so an email costs
 * one HMAC (about 5 µs, synchronous). The path says the action; the token says whose, which
 * course, run and lesson. Opening a feedback link only shows a page; the vote is recorded by that
 * page's POST (src/routes/feedback.tsx), so a link scanner's GET counts nothing.
 * Throws RangeError for impossible claims (see `signEmailLinkToken`).
 */
export function lessonEmailLinks(
  appUrl: string,
  secret: string,
  email: { subscriberId: string; course: string; run: number; lesson: { number: number; slug: string } },
): LessonEmailLinks {
  const token = signEmailLinkToken(secret, { subscriberId: email.subscriberId, course: email.course, run: email.run, lesson: email.lesson.number });
  return {
    manageUrl: manageUrl(appUrl, token),
    unsubscribeUrl: unsubscribeUrl(appUrl, token),
    viewInBrowserUrl: lessonUrl(appUrl, email.lesson.slug, token),
    helpfulUrl: feedbackUrl(appUrl, token, "helpful"),
    notHelpfulUrl: feedbackUrl(appUrl, token, "not-helpful"),
  };
}
