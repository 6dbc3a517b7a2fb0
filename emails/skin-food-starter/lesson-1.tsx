import { Callout, CalloutP, H2, List, P } from "../_components/content";
import { LessonLayout } from "../_components/lesson-layout";
import { lessonPreviewProps, type LessonEmailProps } from "../_components/lesson-props";
import { COPY } from "./copy";

export default function Lesson1(props: LessonEmailProps) {
  return (
    <LessonLayout
      {...props}
      course={COPY}
      lesson={1}
      comingNext="Two easy ways to look after the helpful bacteria in your gut: fermented foods and the fibres that feed them."
    >
      <P>Welcome to your three-day starter. I'm glad you're here.</P>
      <P>
        If you've tried cleanser after cleanser and your skin still flares up, you're not alone. Over the next three days
        we'll look at one simple idea: what you eat may show up on your skin. Acne is a messenger, not an enemy. Today you
        start learning to read its messages.
      </P>

      <H2>Why your plate may matter</H2>
      <P>
        Your gut is home to trillions of bacteria. Researchers call the link between these bacteria and your skin the
        gut–skin axis. When the gut's bacteria get out of balance (this is called dysbiosis), the body may make more
        inflammation, and the skin can show it as redness, swelling and breakouts.
      </P>
      <Callout title="How strong is the evidence?">
        <CalloutP>
          The gut–skin link is an active area of research. The early human studies are promising, but they are still early.
          Food is one piece of the picture, not the whole answer, and it won't work the same way for everyone.
        </CalloutP>
      </Callout>

      <H2>Watch for post-meal flare-ups</H2>
      <P>
        Some people notice their skin looks more inflamed or oily 24 to 48 hours after certain foods. Sugar, dairy and
        gluten are the ones people mention most often. Because of that delay, the link is easy to miss. A journal helps you
        see it.
      </P>

      <H2>Your journal, step by step</H2>
      <P>Use a notebook or the notes app on your phone. Once a day, write down:</P>
      <List
        items={[
          "What you ate and drank, meal by meal",
          "How your gut felt: any bloating, constipation or acid reflux",
          "How your skin looked: new spots, redness, oiliness, and where on your face",
          "Anything else that stood out, like poor sleep or a stressful day",
        ]}
      />
      <P>
        Keep it going for two weeks. Then read it back and look for patterns. Did a breakout follow a sugary weekend a day
        or two later? Did your skin calm down on days you felt less bloated?
      </P>
      <P>
        A pattern is a clue, not proof. If you spot one, take your notes to your doctor or dermatologist. They make a
        great starting point for a real conversation.
      </P>

      <H2>Your small step today</H2>
      <P>Start your journal with today's breakfast. It takes two minutes, and tomorrow's lesson builds on it.</P>
    </LessonLayout>
  );
}

Lesson1.PreviewProps = lessonPreviewProps;
