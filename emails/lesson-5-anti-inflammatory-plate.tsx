import type { z } from "zod";
import { Callout, CalloutP, H2, List, P } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonAntiInflammatoryPlate(props: Props) {
  return (
    <LessonLayout
      {...props}
      lesson={5}
      comingNext="The last lesson brings the whole course together on one page, with gentle next steps you can take at your own pace."
    >
      <P>
        You've reached step 3. So far we've cared for the gut lining and the bacteria that live there. Today we look at
        your whole plate.
      </P>
      <P>
        Inflammation is part of acne, especially the red, swollen, painful kind called cystic acne. Some foods seem to
        fuel inflammation. Others may help calm it.
      </P>

      <H2>Omega-3 fats</H2>
      <P>
        Omega-3s are healthy fats your body uses to manage inflammation. A few small studies suggest they may help
        reduce the redness and swelling of inflamed acne. The research is still limited, but these foods are good for
        you in lots of other ways too.
      </P>
      <List
        items={[
          "Fatty fish such as salmon, sardines and mackerel, a couple of times a week",
          "Walnuts, as a snack or on porridge",
          "Flaxseeds, ground, because whole seeds often pass through without being digested",
        ]}
      />
      <Callout title="Thinking about fish oil capsules?">
        <CalloutP>
          Check with your doctor or pharmacist first, especially if you take medicine that thins your blood.
        </CalloutP>
      </Callout>

      <H2>Antioxidants: put colour on your plate</H2>
      <P>
        Antioxidants help protect your cells from damage and support repair, including in your skin. An easy rule is to
        eat a rainbow. Deep, bright colours are a good sign.
      </P>
      <List
        items={[
          "Berries: blueberries, raspberries, blackberries (frozen ones work just as well and often cost less)",
          "Leafy greens: spinach, kale, rocket, chard",
          "Other bright vegetables: red peppers, carrots, beetroot",
        ]}
      />

      <H2>Putting it together</H2>
      <P>You don't need a perfect diet. This simple plate is a good guide for most meals:</P>
      <List
        items={[
          "Half the plate: vegetables and leafy greens",
          "A quarter: protein, such as fish, eggs, beans or chicken",
          "A quarter: whole grains or starchy vegetables",
          "A sprinkle of seeds or nuts, and a drizzle of olive oil",
        ]}
      />
      <P>
        Some research links diets high in sugar and refined starch with more breakouts. If your journal points the same
        way, try swapping one sugary snack a day for a bowl of berries.
      </P>

      <H2>Your small step this week</H2>
      <P>Add one omega-3 food and one colourful fruit or vegetable to each day this week.</P>
    </LessonLayout>
  );
}

LessonAntiInflammatoryPlate.PreviewProps = lessonPreviewProps satisfies Props;
