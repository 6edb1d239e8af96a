//! What a dispute's and a petition's actions return as effects, and that the workflows (data)
//! name only actions the engine knows.

use super::*;
use crate::dispute::SessionInput;

struct TwoDays;
impl Limits for TwoDays {
    fn limit(&self, _: &str, _: Urgency, _: Stage) -> Limit {
        "2 working_days".parse().expect("a valid limit")
    }
}

fn new_case(case_type: &str, category: &str) -> NewCase {
    NewCase {
        id: Uuid::now_v7(),
        county_code: "330502".into(),
        number: crate::codes::CaseNumber::parse("3305022026112100002").ok(),
        tracking_code: "ABCDEFGHJM".into(),
        case_type: case_type.into(),
        category: category.into(),
        urgency: Urgency::Normal,
        channel: "hotline".into(),
        description: "楼上漏水".into(),
        address: None,
        lat: None,
        lon: None,
        grid_code: None,
        region_code: crate::codes::RegionCode::parse("330502001001").unwrap(),
        needs_grid: false,
        needs_location: false,
        reporter_name: None,
        reporter_phone: None,
        reporter_user: None,
        reporter_anonymous: false,
    }
}

fn staff(role: Role) -> Actor {
    Actor {
        id: Some(Uuid::now_v7()),
        username: role.as_str().into(),
        role,
        department: Some("330502-rsj".into()),
        grids: vec![],
        regions: vec![],
    }
}

/// Applies `cmd` and returns the new case and its effects.
fn step(case: &Case, cmd: Command, actor: &Actor, ctx: &Context) -> (Case, Vec<Effect>) {
    let a = apply(case, &cmd, actor, ctx).unwrap_or_else(|e| panic!("{}: {e}", cmd.action.name()));
    (a.case, a.effects)
}

#[test]
fn a_mediation_returns_what_the_dispute_record_needs() {
    let cal = WorkCalendar::builtin();
    let ctx = Context {
        calendar: &cal,
        limits: &TwoDays,
        now: "2026-11-20T02:00:00Z".parse().unwrap(),
    };
    let m = staff(Role::Mediator);
    let case = create(new_case("dispute", "D0101"), None, &ctx)
        .unwrap()
        .case;
    let (case, fx) = step(&case, Command::new(Action::Accept), &m, &ctx);
    assert!(fx.is_empty(), "accepting writes nothing beside the case");
    let mediator = Uuid::now_v7();
    let (case, fx) = step(
        &case,
        Command::new(Action::Assign {
            mediator,
            method: None,
        }),
        &m,
        &ctx,
    );
    assert_eq!(
        fx,
        vec![Effect::AssignMediator {
            mediator,
            method: None
        }]
    );
    let session = SessionInput {
        held_on: "2026-11-19".into(),
        place: " 调解室 ".into(),
        attendees: vec!["张建国".into(), "李秀英".into()],
        notes: None,
    };
    let (case, fx) = step(
        &case,
        Command::new(Action::RecordSession(session.clone())),
        &m,
        &ctx,
    );
    let checked = session.validate("2026-11-20".parse().unwrap()).unwrap();
    assert_eq!(checked.place, "调解室");
    assert_eq!(fx, vec![Effect::RecordSession(checked)]);
    // A session in the future is refused by the engine, naming the field.
    let tomorrow = SessionInput {
        held_on: "2026-11-21".into(),
        ..session
    };
    assert!(matches!(
        apply(&case, &Command::new(Action::RecordSession(tomorrow)), &m, &ctx),
        Err(EngineError::Invalid(f)) if f.field == "session.held_on"
    ));
    let agreement = crate::dispute::AgreementInput {
        form: "written".into(),
        content: "楼上修复防水并赔偿。".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let (case, fx) = step(
        &case,
        Command::new(Action::ReachAgreement(agreement.clone())),
        &m,
        &ctx,
    );
    assert_eq!(fx, vec![Effect::RecordAgreement(agreement)]);
    let (case, fx) = step(
        &case,
        Command::new(Action::RecordCourtConfirmation {
            court: "吴兴区人民法院".into(),
            confirmed: true,
        }),
        &m,
        &ctx,
    );
    assert_eq!(
        fx,
        vec![Effect::CourtConfirmation {
            court: "吴兴区人民法院".into(),
            confirmed: true
        }]
    );
    let (_, fx) = step(
        &case,
        Command::new(Action::RemindCourtConfirmation),
        &Actor::system(),
        &ctx,
    );
    assert_eq!(fx, vec![Effect::ConfirmationReminded]);
    let (case, fx) = step(
        &case,
        Command::new(Action::FollowUp { honoured: true }),
        &m,
        &ctx,
    );
    assert_eq!(fx, vec![Effect::FollowUp { honoured: true }]);
    let a = apply(
        &case,
        &Command::noted(Action::CloseResolved, "已履行").unwrap(),
        &m,
        &ctx,
    )
    .unwrap();
    assert_eq!(
        a.effects,
        vec![Effect::Conclude {
            outcome: Outcome::Resolved,
            result: Some("已履行".into())
        }]
    );
    assert_eq!(
        (a.counters.disputes_concluded, a.counters.disputes_resolved),
        (1, 1)
    );
    let (_, fx) = step(
        &a.case,
        Command::noted(Action::Evaluate, "调解及时").unwrap(),
        &staff(Role::Leader),
        &ctx,
    );
    assert_eq!(
        fx,
        vec![Effect::Evaluate {
            text: "调解及时".into()
        }]
    );
}

#[test]
fn a_dispute_handed_on_concludes_with_where_it_went() {
    let cal = WorkCalendar::builtin();
    let ctx = Context {
        calendar: &cal,
        limits: &TwoDays,
        now: "2026-11-20T02:00:00Z".parse().unwrap(),
    };
    let m = staff(Role::Mediator);
    let case = create(new_case("dispute", "D0101"), None, &ctx)
        .unwrap()
        .case;
    let (case, _) = step(&case, Command::new(Action::Accept), &m, &ctx);
    let hand_on = Action::HandOn {
        destination: "litigation".into(),
        body: "吴兴区人民法院".into(),
        method: "05".into(),
    };
    let a = apply(
        &case,
        &Command::noted(hand_on, "调解不成").unwrap(),
        &m,
        &ctx,
    )
    .unwrap();
    assert_eq!(
        a.effects,
        vec![Effect::Conclude {
            outcome: Outcome::HandedOn {
                destination: "litigation".into(),
                body: "吴兴区人民法院".into(),
                method: "05".into()
            },
            result: Some("调解不成".into())
        }]
    );
    assert_eq!(a.event.data["destination_body"], "吴兴区人民法院");
    assert!(a.case.closed_at.is_some());
    // Refusing mediation ends the dispute too, but is not counted as a concluded mediation.
    let a = apply(
        &case,
        &Command::noted(Action::RefuseMediation, "不同意调解").unwrap(),
        &m,
        &ctx,
    )
    .unwrap();
    assert_eq!(a.counters.disputes_concluded, 0);
    assert!(matches!(
        a.effects.as_slice(),
        [Effect::Conclude {
            outcome: Outcome::NotMediated,
            ..
        }]
    ));
}

#[test]
fn a_petitions_answers_and_duplicates_are_effects_a_service_events_steps_have_none() {
    let cal = WorkCalendar::builtin();
    let ctx = Context {
        calendar: &cal,
        limits: &TwoDays,
        now: "2026-11-20T02:00:00Z".parse().unwrap(),
    };
    let intake = staff(Role::Dispatcher);
    let body = staff(Role::Handler);
    let case = create(new_case("petition", "X0102"), None, &ctx)
        .unwrap()
        .case;
    let of = Uuid::now_v7();
    let (_, fx) = step(
        &case,
        Command::new(Action::LinkDuplicate { of }),
        &intake,
        &ctx,
    );
    assert_eq!(fx, vec![Effect::LinkDuplicate { of }]);
    let (case, fx) = step(
        &case,
        Command::new(Action::Forward {
            department: "330502-rsj".into(),
        }),
        &intake,
        &ctx,
    );
    assert!(fx.is_empty());
    let (case, _) = step(&case, Command::new(Action::Acknowledge), &body, &ctx);
    let (_, fx) = step(
        &case,
        Command::new(Action::TakeCharge),
        &staff(Role::Leader),
        &ctx,
    );
    assert_eq!(fx, vec![Effect::TakeCharge]);
    let a = apply(
        &case,
        &Command::noted(Action::Reply, "已依法答复").unwrap(),
        &body,
        &ctx,
    )
    .unwrap();
    assert_eq!(
        a.effects,
        vec![Effect::Answer {
            kind: AnswerKind::Reply,
            text: "已依法答复".into()
        }]
    );
    assert_eq!(a.counters.handled, 1);

    let service = create(new_case("service_event", "C0102"), None, &ctx)
        .unwrap()
        .case;
    let d = staff(Role::Dispatcher);
    let (service, fx) = step(&service, Command::new(Action::Register), &d, &ctx);
    assert!(fx.is_empty());
    let (_, fx) = step(
        &service,
        Command::new(Action::Dispatch {
            department: "330502-cgj".into(),
        }),
        &d,
        &ctx,
    );
    assert!(fx.is_empty());
}

#[test]
fn the_workflows_name_only_actions_the_engine_knows() {
    for case_type in ["service_event", "hazard", "dispute", "petition"] {
        let wf = workflow(case_type).expect("a built-in workflow");
        for name in wf.action_names() {
            assert!(
                ACTION_NAMES.contains(&name),
                "{case_type} names {name}, which no Action is"
            );
        }
    }
    let mut names = ACTION_NAMES.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ACTION_NAMES.len(), "each name once");
}
