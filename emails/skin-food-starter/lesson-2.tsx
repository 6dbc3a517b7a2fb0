import { Callout, CalloutP, H2, List, P } from "../_components/content";
import { LessonLayout } from "../_components/lesson-layout";
import { lessonPreviewProps, type LessonEmailProps } from "../_components/lesson-props";
import { COPY } from "./copy";

export default function Lesson2(props: LessonEmailProps) {
  return (
    <LessonLayout
      {...props}
      course={COPY}
      lesson={2}
      comingNext="Omega-3 fats and colourful foods that may help calm inflammation, and where to go from here."
    >
      <P>How did your first journal entry go? Even one line is a good start.</P>
      <P>
        Today is about the helpful bacteria in your gut. Think of your gut as the garden soil of your body. When the soil
        is rich and balanced, plants grow well. When it's poor, they wilt. Today we feed the soil.
      </P>

      <H2>Fermented foods: adding helpful bacteria</H2>
      <P>
        Fermented foods contain live bacteria. Adding them to your meals is a gentle way to bring more helpful bacteria
        into your gut, so there's less room for the unhelpful kind. Try:
      </P>
      <List
        items={[
          "Sauerkraut: pick the raw kind from the fridge, because heat kills the live bacteria",
          "Kimchi, a spicy Korean dish of fermented vegetables",
        ]}
      />
      <P>
        Start with a forkful a day and build up slowly. Some people feel a bit gassy at first, and that usually settles.
      </P>

      <H2>Prebiotic fibres: food for the good bacteria</H2>
      <P>
        Prebiotics are fibres you can't digest, but your gut bacteria can. They are food for the helpful bacteria, so those
        bacteria can grow. Good sources include:
      </P>
      <List items={["Garlic", "Onions", "Asparagus", "Bananas"]} />
      <P>Add fibre a little at a time and drink enough water, so your gut has time to adjust.</P>

      <Callout title="What about probiotic supplements?">
        <CalloutP>
          Some small studies have tested probiotic strains in adults with acne, with encouraging results. The studies are
          small, though, and they don't prove that a supplement will clear your skin. Food is a simple place to start.
        </CalloutP>
        <CalloutP>
          If you want to try a supplement, talk to your doctor first, especially if you're pregnant, have a weak immune
          system or take other medicines.
        </CalloutP>
      </Callout>

      <H2>Your small step today</H2>
      <P>
        Add one fermented food and one prebiotic food to a meal this week. For example, a spoonful of sauerkraut with lunch,
        and onions and garlic in your dinner. Then note in your journal how your gut and skin feel over the next few days.
      </P>
    </LessonLayout>
  );
}

Lesson2.PreviewProps = lessonPreviewProps;
