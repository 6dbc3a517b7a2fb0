import { COURSE_TITLE, LESSON_META } from "../src/course/meta";
import { Callout, CalloutP, H2, List, P } from "./_components/content";
import { LessonLayout } from "./_components/lesson-layout";
import { lessonPreviewProps, lessonPropsSchema } from "./_components/lesson-props";
import type { z } from "zod";

export const propsSchema = lessonPropsSchema;
type Props = z.infer<typeof propsSchema>;

export default function LessonGutSkinAxis(props: Props) {
  return (
    <LessonLayout
      {...props}
      lesson={1}
      comingNext="Three clues that your breakouts may be linked to your gut, and a simple two-week journal to help you spot your own patterns."
    >
      <P>{`Welcome to ${COURSE_TITLE}. We're really glad you're here.`}</P>
      <P>
        If you're reading this, you've probably tried a lot already. Harsh cleansers. Drying lotions. Maybe a round or
        two of antibiotics. Perhaps your skin cleared up for a while, then the breakouts came back as soon as you
        stopped.
      </P>
      <P>
        That isn't your fault. Most of those treatments work on the surface of the skin. In this short course, we'll
        look at something that often gets missed: what's happening inside, in your gut and on your plate.
      </P>
      <P>
        Here's a helpful way to think about it: acne is a messenger, not an enemy. It can be your body's way of saying
        that something needs some care.
      </P>

      <H2>Your gut and your skin are in touch</H2>
      <P>
        Your gut is home to trillions of bacteria, along with other tiny living things. Together they're called the gut
        microbiome. They help you digest food, train your immune system and make useful substances your body needs.
      </P>
      <P>
        Researchers now describe a two-way link between the gut and the skin, called the gut–skin axis. What happens in
        one can affect the other, mostly through your immune system and inflammation.
      </P>

      <H2>Think of your gut as garden soil</H2>
      <P>
        Picture your gut as the soil in a garden. When the soil is rich and balanced, the plants grow strong. When the
        soil is worn out, even well-watered plants start to wilt.
      </P>
      <P>
        Your skin is a bit like those plants. Treating only the leaves can help for a while. Caring for the soil
        supports the whole garden.
      </P>

      <H2>When the balance tips</H2>
      <P>A few common things can upset the mix of bacteria in your gut:</P>
      <List
        items={[
          "A diet low in fibre and high in sugar and processed food",
          "Stress that goes on for a long time",
          "Some medicines, including antibiotics",
        ]}
      />
      <P>
        When the mix gets out of balance, it's called dysbiosis. Some researchers think dysbiosis may also loosen the
        lining of the gut, so inflammatory messengers can slip into the bloodstream. The skin may then show that
        inflammation as redness, swelling or deep, cystic breakouts.
      </P>
      <Callout title="How strong is the evidence?">
        <CalloutP>
          The gut–skin link is an active area of research. Early studies in people are promising, but many are small,
          and there's a lot we don't know yet.
        </CalloutP>
        <CalloutP>
          The idea of a loosened or "leaky" gut (doctors call it increased intestinal permeability) is a hypothesis, not
          a diagnosis. In every lesson, we'll tell you how sure the science is.
        </CalloutP>
      </Callout>

      <H2>What's ahead in this course</H2>
      <List items={LESSON_META.slice(1).map((lesson) => `Lesson ${lesson.number} – ${lesson.title}`)} />
      <P>
        Changes inside the body are slow. For most people, gut and skin changes take weeks to months, not days. So go
        gently, and be kind to yourself along the way.
      </P>
      {props.repliesWelcome ? (
        <P>
          Got a question, or something you'd like to share? Just reply to this email. A real person reads every reply.
        </P>
      ) : null}
    </LessonLayout>
  );
}

LessonGutSkinAxis.PreviewProps = lessonPreviewProps satisfies Props;
