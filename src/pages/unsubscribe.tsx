/** @jsxImportSource hono/jsx */
import { COURSE } from "../course";
import { MessagePage, type SiteInfo } from "./layout";
import { FormTokenField, OnItsWayNotice } from "./manage";

/**
 * The page behind the unsubscribe link. Fetching it changes nothing (link scanners in corporate
 * mail open every link); the button POSTs to the same URL, like a mail client's one-click button.
 */
export function UnsubscribePage(props: { site: SiteInfo; action: string; manageUrl: string; formToken: string }) {
  return (
    <MessagePage title="Unsubscribe?" site={props.site}>
      <p class="lead">
        You'll stop getting lessons from <cite>{COURSE.title}</cite> right away.
      </p>
      <p>Just need a break? Pausing keeps your place, and you can resume from any lesson email.</p>
      <div class="actions">
        <form method="post" action={props.action}>
          <FormTokenField token={props.formToken} />
          <button type="submit">Yes, unsubscribe me</button>
        </form>
        <form method="post" action={`${props.manageUrl}/pause`}>
          <FormTokenField token={props.formToken} />
          <button type="submit" class="secondary">
            Pause instead
          </button>
        </form>
      </div>
      <p>
        <a href={props.manageUrl}>See all options</a>
      </p>
    </MessagePage>
  );
}

export function UnsubscribedPage(props: { site: SiteInfo; manageUrl: string; already?: boolean; onItsWay?: boolean }) {
  return (
    <MessagePage title={props.already ? "You're already unsubscribed" : "You're unsubscribed"} site={props.site}>
      <p class="lead">We won't send you any more lessons.</p>
      {props.onItsWay && <OnItsWayNotice />}
      <p>
        Changed your mind? <a href="/">Sign up again on the home page</a>. You'll confirm your address, and the course
        picks up where you left off.
      </p>
      <p>
        Want us to forget you completely? <a href={`${props.manageUrl}/delete`}>Delete my data</a>.
      </p>
    </MessagePage>
  );
}
