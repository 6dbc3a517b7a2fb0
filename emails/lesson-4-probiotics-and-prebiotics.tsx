import type { z } from "zod";
import { Callout, CalloutP, H2, List, P } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonProbioticsAndPrebiotics(props: Props) {
  return (
    <LessonLayout
      {...props}
      lesson={4}
      comingNext="The last healing step: omega-3 fats, colourful berries and leafy greens, and a simple way to build a plate that may help calm inflammation."
    >
      <P>Last time we looked after the gut lining. Today is step 2: helping the good bacteria in your gut to thrive.</P>
      <P>
        Back to our garden for a moment. If step 1 was caring for the soil, step 2 is planting helpful seeds and feeding
        them well, so there's less room for weeds.
      </P>

      <H2>Probiotics: adding helpful bacteria</H2>
      <P>
        Probiotics are live bacteria that may be good for your health. The idea is simple: add more helpful bacteria so
        they crowd out the less helpful ones.
      </P>
      <P>
        Two strains have been studied in adults with acne: Lactobacillus rhamnosus and Lactobacillus acidophilus. In a
        few small studies, people who took them had fewer breakouts, sometimes alongside their usual acne treatment.
      </P>
      <Callout title="What the research can and can't tell us">
        <CalloutP>
          The probiotic studies in acne are small and short, and each used its own strains and doses. The results are
          encouraging, but they don't prove that probiotics clear acne, or which product might suit you.
        </CalloutP>
        <CalloutP>
          Probiotics aren't right for everyone. If you're pregnant, have a weak immune system or a serious illness, talk
          to your doctor before you try them.
        </CalloutP>
      </Callout>

      <H2>Fermented foods</H2>
      <P>You can also get live bacteria from fermented foods. Try small amounts first:</P>
      <List
        items={[
          "Sauerkraut: choose the raw, unpasteurised kind from the fridge, since heat kills the live bacteria",
          "Kimchi, a spicy Korean dish of fermented vegetables",
          "Plain live yogurt or kefir, if dairy agrees with you (your journal can tell you)",
        ]}
      />
      <P>
        Start with a forkful a day and build up slowly. Some people feel a little gassy or bloated at first, and that
        usually settles.
      </P>

      <H2>Prebiotics: feeding the good bacteria</H2>
      <P>
        Prebiotics are fibres that you can't digest, but your gut bacteria can. They're food for the helpful bacteria,
        so those bacteria can grow and do their work. Good sources include:
      </P>
      <List items={["Garlic", "Onions", "Asparagus", "Bananas, especially ones that are still a little green"]} />
      <P>Add fibre a little at a time, and drink enough water, so your gut has time to adjust.</P>

      <H2>Your small step this week</H2>
      <P>
        Add one fermented food and one prebiotic food to your week. For example, a spoonful of sauerkraut with lunch,
        and onions and garlic in your dinner.
      </P>
    </LessonLayout>
  );
}

LessonProbioticsAndPrebiotics.PreviewProps = lessonPreviewProps satisfies Props;
