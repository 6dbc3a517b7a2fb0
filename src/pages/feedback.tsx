/** @jsxImportSource hono/jsx */
import { MAX_COMMENT_LENGTH, type StoredVote } from "../db/feedback";
import type { FeedbackChoice } from "../lib/links";
import { Layout, type SiteInfo } from "./layout";

/** What the page says about each answer. */
const ANSWER: Record<FeedbackChoice, { label: string; lead: string; ask: string }> = {
  helpful: { label: "Yes", lead: "We're glad it helped.", ask: "What was most useful? (optional)" },
  "not-helpful": { label: "Not really", lead: "Thanks for telling us: it helps us make the lessons better.", ask: "What was missing or unclear? (optional)" },
};

export interface FeedbackPageProps {
  site: SiteInfo;
  /** The feedback link's token; the forms POST it in their body (it is their CSRF proof too). */
  token: string;
  choice: FeedbackChoice;
  lessonTitle: string;
  /** What is stored now: a GET never changes it. */
  stored: StoredVote | null;
  /** After a form POST without scripts (`?saved=`): what was just saved. */
  saved?: "vote" | "comment";
}

/**
 * The page behind "Yes" / "Not really" in a lesson. Opening it records nothing (link scanners open
 * every link): /assets/feedback.js POSTs the answer once the page has loaded, and without scripts the
 * visible "Save my answer" button does the same. The comment form records the answer with it.
 */
export function FeedbackPage(props: FeedbackPageProps) {
  const answer = ANSWER[props.choice];
  const recorded = props.stored?.vote === (props.choice === "helpful" ? "helpful" : "not_helpful");
  return (
    <Layout title="Thanks for your feedback" site={props.site} scripts={recorded ? [] : ["/assets/feedback.js"]}>
      <h1>Thanks for your feedback</h1>
      <p class="lead">
        You answered <strong>{answer.label}</strong> to “Was this lesson helpful?” for <cite>{props.lessonTitle}</cite>.
      </p>
      <p id="vote-status" role="status">
        {props.saved === "comment" ? "Your comment is saved. Thank you!" : recorded ? "Your answer is saved. Thank you!" : ""}
      </p>
      {recorded ? null : (
        <form id="vote-form" method="post" action="/feedback">
          <input type="hidden" name="token" value={props.token} />
          <input type="hidden" name="vote" value={props.choice} />
          <button type="submit">Save my answer</button>
        </form>
      )}
      <p>{answer.lead}</p>
      <CommentForm {...props} ask={answer.ask} />
    </Layout>
  );
}

function CommentForm(props: FeedbackPageProps & { ask: string }) {
  const comment = props.stored?.comment ?? null;
  return (
    <form method="post" action="/feedback" class="card">
      <input type="hidden" name="token" value={props.token} />
      <input type="hidden" name="vote" value={props.choice} />
      {comment !== null && (
        <>
          <h2 class="flush">Your comment</h2>
          <blockquote class="comment">{comment}</blockquote>
        </>
      )}
      <div class="field">
        <label for="comment">{comment === null ? props.ask : "Change your comment"}</label>
        <textarea id="comment" name="comment" rows={5} maxlength={MAX_COMMENT_LENGTH} aria-describedby="comment-hint">
          {comment ?? ""}
        </textarea>
        <p class="hint" id="comment-hint">
          Up to 1,000 characters. A person on our team reads every comment. Please don't include health details you'd rather keep private.
        </p>
      </div>
      <button type="submit" class="secondary">
        Send comment
      </button>
    </form>
  );
}
