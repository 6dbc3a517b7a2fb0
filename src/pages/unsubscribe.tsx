/** @jsxImportSource hono/jsx */
import { DEFAULT_COURSE, type Course } from "../course";
import { MessagePage, type SiteInfo } from "./layout";
import { FormTokenField, OnItsWayNotice } from "./manage";

/**
 * The page behind the unsubscribe link. Fetching it changes nothing (link scanners in corporate
 * mail open every link); the button POSTs to the same URL, like a mail client's one-click button.
 */
export function UnsubscribePage(props: { site: SiteInfo; action: string; manageUrl: string; formToken: string; course?: Course }) {
  return (
    <MessagePage title="Unsubscribe?" site={props.site}>
      <p class="lead">
        You'll stop getting lessons from <cite>{(props.course ?? DEFAULT_COURSE).title}</cite> right away.
      </p>
      {props.course && <p>Any other course you're taking carries on. To stop all email from us, use the manage page.</p>}
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

export function UnsubscribedPage(props: { site: SiteInfo; manageUrl: string; already?: boolean; onItsWay?: boolean; course?: Course }) {
  if (props.course) return <LeftCoursePage {...props} course={props.course} />;
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

/** After leaving one course: the others carry on, and the manage page has every option. */
function LeftCoursePage(props: { site: SiteInfo; manageUrl: string; already?: boolean; onItsWay?: boolean; course: Course }) {
  return (
    <MessagePage title={props.already ? "You've already left this course" : "You've left this course"} site={props.site}>
      <p class="lead">
        We won't send you any more lessons from <cite>{props.course.title}</cite>.
      </p>
      {props.onItsWay && <OnItsWayNotice />}
      <p>Any other course you're taking carries on as before.</p>
      <p>
        <a href={props.manageUrl}>Manage your courses</a> or stop all email from us.
      </p>
      <p>
        Want us to forget you completely? <a href={`${props.manageUrl}/delete`}>Delete my data</a>.
      </p>
    </MessagePage>
  );
}
