import type { z } from "zod";
import { A, H2, List, P, Strong } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonKeyTakeaways(props: Props) {
  return (
    <LessonLayout {...props} lesson={6}>
      <P>
        This is the last lesson of the course. Thank you for reading along. Let's bring it all together and talk about
        where to go from here.
      </P>

      <H2>What we covered</H2>
      <List
        items={[
          <>
            <Strong>Your gut and your skin are linked.</Strong> The gut–skin axis works both ways. Research into it is
            promising, but still early.
          </>,
          <>
            <Strong>Gut-related acne can leave clues.</Strong> Where breakouts appear (a tradition, not proof),
            digestive trouble such as bloating, constipation or acid reflux, and flare-ups a day or two after certain
            foods.
          </>,
          <>
            <Strong>Three steps support your gut:</Strong> care for the gut lining, add probiotics and prebiotics, and
            build an anti-inflammatory plate.
          </>,
          <>
            <Strong>Some foods are worth coming back to:</Strong> bone broth, zinc-rich foods like pumpkin seeds, and
            omega-3 fats from fish, walnuts and flaxseeds.
          </>,
        ]}
      />
      <P>
        Caring for your gut isn't only about skin. A healthy gut is also linked with your energy, your immune system and
        your long-term health.
      </P>

      <H2>Gentle next steps</H2>
      <List
        items={[
          <>
            <Strong>Keep your journal going.</Strong> A month or two of notes tells you far more than a week.
          </>,
          <>
            <Strong>Change one thing at a time.</Strong> If you change everything at once, you won't know what helped.
          </>,
          <>
            <Strong>Give it time.</Strong> Your gut and skin renew slowly, so changes often take weeks to months to
            show. Everyone's skin is different, and slow progress doesn't mean you've failed.
          </>,
          <>
            <Strong>Work with a professional.</Strong> Take your journal to a doctor, dermatologist or registered
            dietitian. They can check for other causes, help you test food changes safely, and fit this approach
            alongside any medical treatment you need.
          </>,
        ]}
      />
      <P>
        Please don't stop any prescribed acne medicine on your own. Caring for your gut and your diet can sit alongside
        medical treatment. It doesn't have to replace it.
      </P>
      <P>
        Acne is a messenger, not an enemy. Listening to it, with patience and kindness towards yourself, is a good place
        to start.
      </P>
      <P>
        This was the final lesson. If you'd like to go through the course again, you can restart it any time from{" "}
        <A href={props.manageUrl}>your lesson settings</A>.
      </P>
    </LessonLayout>
  );
}

LessonKeyTakeaways.PreviewProps = lessonPreviewProps satisfies Props;
