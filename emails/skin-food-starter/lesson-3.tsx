import { A, Callout, CalloutP, H2, List, P } from "../_components/content";
import { LessonLayout } from "../_components/lesson-layout";
import { lessonPreviewProps, type LessonEmailProps } from "../_components/lesson-props";
import { COPY } from "./copy";

export default function Lesson3(props: LessonEmailProps) {
  return (
    <LessonLayout {...props} course={COPY} lesson={3}>
      <P>This is the last day of your starter. Today we put together a plate that may help calm inflammation.</P>

      <H2>Omega-3 fats</H2>
      <P>
        Omega-3 fatty acids are healthy fats that may help calm the redness and swelling of inflamed, cystic acne. You can
        find them in:
      </P>
      <List items={["Walnuts", "Ground flaxseeds, sprinkled on porridge or yogurt", "Fatty fish, such as salmon or sardines"]} />

      <H2>Colourful antioxidants</H2>
      <P>
        Brightly coloured foods are rich in antioxidants, which help your skin cells repair. A simple rule: the more colours
        on your plate, the better. Reach for:
      </P>
      <List items={["Berries, such as blueberries and raspberries", "Leafy greens, such as spinach and kale"]} />
      <P>
        Fresh or frozen both count. A handful of frozen berries on your breakfast or a few leaves of spinach stirred into
        a soup is an easy way to start.
      </P>

      <H2>Putting your plate together</H2>
      <P>
        Try this for one meal a day: half the plate colourful vegetables or greens, a source of omega-3 fats, and a little
        of yesterday's fermented food or prebiotic fibre on the side. It doesn't have to be perfect. Small, steady changes
        are easier to keep than a big overhaul.
      </P>
      <Callout title="Be patient with yourself">
        <CalloutP>
          No single food will clear your skin, and research on diet and acne is still growing. If changes help, they tend to show over weeks
          to months, not days. Keep your journal going so you can see what works for you.
        </CalloutP>
      </Callout>

      <H2>Where to go next</H2>
      <P>
        If this starter was helpful, our full six-lesson course, Clear Skin from the Inside Out, goes deeper. It covers the
        signs that acne may be gut-related, how to support the gut lining, and more on probiotics and the anti-inflammatory
        plate. You can join it here: <A href={props.appUrl}>{props.appUrl}</A>
      </P>
      <P>
        Whatever you choose, work with a doctor or dermatologist along the way, and keep taking any medicine you've been
        prescribed unless they tell you otherwise. Thank you for spending these three days with us.
      </P>
    </LessonLayout>
  );
}

Lesson3.PreviewProps = lessonPreviewProps;
