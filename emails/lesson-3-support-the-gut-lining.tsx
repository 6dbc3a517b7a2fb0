import type { z } from "zod";
import { Callout, CalloutP, H2, List, P } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonSupportTheGutLining(props: Props) {
  return (
    <LessonLayout
      {...props}
      lesson={3}
      comingNext="How helpful bacteria, and the fibres that feed them, may help bring your gut back into balance, plus an honest look at the research."
    >
      <P>How's your journal going? Even a few days of notes can start to show a pattern, so keep at it.</P>
      <P>
        Today we begin the first of three healing steps. In natural medicine, this step is often called "remove and
        replace": ease off the foods that seem to bother you, and add foods that help your gut lining.
      </P>

      <H2>Why the gut lining matters</H2>
      <P>
        Your gut lining is a thin barrier, only one cell thick in places. Its job is to let nutrients in and keep other
        things out. Your body renews it all the time, and it needs good building blocks to do that.
      </P>
      <P>
        Remember from lesson 1: the idea that a weak lining lets inflammation spread through the body ("leaky gut") is
        still a hypothesis. Even so, the foods below are nourishing choices for most people.
      </P>

      <H2>Bone broth</H2>
      <P>
        Bone broth is made by simmering bones slowly for many hours. It contains collagen and glutamine. Glutamine is an
        amino acid that the cells lining your gut use as fuel.
      </P>
      <P>
        Research on bone broth itself is limited, so think of it as a warm, nourishing food rather than a treatment. A
        mug on its own, or broth as the base of a soup or stew, is an easy way to start. If you don't eat meat, skip it;
        the other steps still apply.
      </P>

      <H2>Zinc</H2>
      <P>
        Zinc is a mineral your skin uses to heal and to help control oil. Studies have found that people with acne often
        have lower zinc levels than people without it. Some trials found that zinc supplements may make breakouts less
        severe.
      </P>
      <P>Food is the best place to start. Good sources of zinc include:</P>
      <List
        items={[
          "Pumpkin seeds: a small handful makes an easy snack or salad topping",
          "Oysters and other shellfish",
          "Beef, lamb and chicken",
          "Chickpeas, lentils and cashews",
        ]}
      />
      <Callout title="Take care with zinc supplements">
        <CalloutP>
          More is not better. Adults should not take more than 40 mg of zinc a day from supplements unless a doctor
          advises it. Too much zinc can upset your stomach and, over time, lower your copper levels.
        </CalloutP>
        <CalloutP>
          Zinc can also stop some antibiotics from working well, including some used for acne. Ask your doctor or
          pharmacist before you start.
        </CalloutP>
      </Callout>

      <H2>Your small step this week</H2>
      <P>
        Pick one thing to try: a mug of bone broth a few times this week, or a handful of pumpkin seeds each day. Keep
        noting how your skin and digestion feel in your journal.
      </P>
    </LessonLayout>
  );
}

LessonSupportTheGutLining.PreviewProps = lessonPreviewProps satisfies Props;
