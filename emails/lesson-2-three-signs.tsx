import type { z } from "zod";
import { Callout, CalloutP, H2, List, P } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonThreeSigns(props: Props) {
  return (
    <LessonLayout
      {...props}
      lesson={2}
      comingNext="We start the first healing step: simple, nourishing foods for your gut lining, including bone broth and zinc-rich pumpkin seeds."
    >
      <P>
        In the last lesson, we looked at how your gut and your skin stay in touch. Today's question is a practical one:
        how can you tell if your own acne might be linked to your gut?
      </P>
      <P>
        There's no single test for this. But there are three clues worth noticing. None of them proves anything on its
        own. Together, they can help you and your health professional decide where to look.
      </P>

      <H2>Sign 1: Where your breakouts show up</H2>
      <P>
        An old practice called face mapping links areas of the face with organs in the body. In this tradition,
        breakouts on the cheeks are tied to the stomach. Breakouts along the jawline are tied to the large intestine, or
        to hormones.
      </P>
      <Callout title="A note on face mapping">
        <CalloutP>
          Face mapping is a tradition, not established science. Very little research backs up these links. Use it as a
          reason to pay attention, not as proof of anything.
        </CalloutP>
      </Callout>

      <H2>Sign 2: Your digestion is unhappy too</H2>
      <P>Do your breakouts tend to arrive along with tummy trouble? Watch for:</P>
      <List items={["Bloating, especially after meals", "Constipation", "Acid reflux or heartburn"]} />
      <P>
        When your skin and your digestion flare up at the same time, it's a hint that the two may be connected. It's
        also a good reason to see your doctor, because these symptoms have many possible causes.
      </P>

      <H2>Sign 3: Breakouts after certain meals</H2>
      <P>
        Some people notice their skin gets redder, more inflamed or oilier about 24 to 48 hours after eating certain
        foods. Common suspects are sugar, dairy and gluten.
      </P>
      <P>Because of that delay, the link is easy to miss. That's where today's exercise comes in.</P>

      <H2>Try this: a two-week food-and-skin journal</H2>
      <P>
        The best way to spot your own patterns is to write things down. For the next two weeks, take two minutes each
        evening to note:
      </P>
      <List
        items={[
          "What you ate and drank, snacks included",
          "How your digestion felt: bloating, constipation, reflux, or all good",
          "How your skin looked and felt, and where any new spots appeared",
          "How stressed you felt and how well you slept",
        ]}
      />
      <P>
        A notebook or a note on your phone is all you need. A quick photo of your skin each morning, in the same light,
        can help too.
      </P>
      <P>
        After two weeks, look back. Do new breakouts tend to appear a day or two after certain foods? Do your bad skin
        days line up with bad gut days?
      </P>
      <P>
        Please don't cut out whole food groups based on the journal alone. If you see a pattern, take your notes to your
        doctor, dermatologist or a registered dietitian. They can help you test it safely.
      </P>
    </LessonLayout>
  );
}

LessonThreeSigns.PreviewProps = lessonPreviewProps satisfies Props;
