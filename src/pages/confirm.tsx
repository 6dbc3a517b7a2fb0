/** @jsxImportSource hono/jsx */
import { DEFAULT_COURSE, type Course } from "../course";
import { MessagePage, type SiteInfo } from "./layout";

/**
 * The page behind the confirmation link. Opening it changes nothing: mail scanners and link
 * previews fetch every link in an email, and consent needs a person. The button POSTs the token
 * (in the body, not the URL) to `/confirm`.
 */
export function ConfirmPage(props: { site: SiteInfo; token: string; firstName: string | null; course?: Course }) {
  return (
    <MessagePage title="Confirm your subscription" site={props.site}>
      {/* No lesson is named here: a returning subscriber continues where they left off. */}
      <p class="lead">
        {props.firstName ? `${props.firstName}, please` : "Please"} press the button to confirm your subscription to{" "}
        <cite>{(props.course ?? DEFAULT_COURSE).title}</cite>.
      </p>
      <form method="post" action="/confirm">
        <input type="hidden" name="token" value={props.token} />
        <button type="submit">Confirm</button>
      </form>
      <p class="hint">Didn't sign up? Close this page: nothing happens, we won't send you any lessons, and we forget the address within a week.</p>
    </MessagePage>
  );
}

/** After the POST: confirmed (or confirmed before), with when the next lesson comes. */
export function ConfirmedPage(props: { site: SiteInfo; when: string; manageUrl: string }) {
  return (
    <MessagePage title="You're in!" site={props.site}>
      <p class="lead">Your subscription is confirmed. {props.when}</p>
      <p>The next lessons follow every few days at the same local hour. Every email has links to pause, change your details or leave.</p>
      <p>
        <a class="button secondary" href={props.manageUrl}>
          Manage your subscription
        </a>
      </p>
    </MessagePage>
  );
}

/** An old (expired) confirmation link opened by someone who is subscribed: nothing to do. */
export function AlreadySubscribedPage(props: { site: SiteInfo }) {
  return (
    <MessagePage title="You're already subscribed" site={props.site}>
      <p class="lead">Your subscription is confirmed, so there's nothing left to do here.</p>
      <p>Every lesson email has a link to manage your subscription: pause, change your details or leave.</p>
    </MessagePage>
  );
}
