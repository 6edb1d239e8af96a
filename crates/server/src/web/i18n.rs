//! Interface strings in Chinese (default) and English. Every user-visible string of the pages goes
//! through [`Lang::t`]; a test checks that each key the templates and page code use is here.
//! The language comes from `?lang=`, then the `lang` cookie (set by the switch), else zh-CN.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "cn" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn html_code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn cookie_value(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    /// The key of a `{"zh": …, "en": …}` name in the API's JSON.
    pub fn data_key(self) -> &'static str {
        self.cookie_value()
    }

    /// The string of `key`; the key itself when missing (the test below keeps that from shipping).
    pub fn t(self, key: &str) -> &'static str {
        match STRINGS.binary_search_by(|(k, _, _)| k.cmp(&key)) {
            Ok(i) => match self {
                Lang::Zh => STRINGS[i].1,
                Lang::En => STRINGS[i].2,
            },
            Err(_) => {
                tracing::warn!(key, "missing interface string");
                // Leaked once per missing key at most in practice; keys are static in the code.
                STRINGS_MISSING
            }
        }
    }

    /// The string of `key`, or "" when there is none (optional help texts).
    pub fn opt(self, key: &str) -> &'static str {
        match STRINGS.binary_search_by(|(k, _, _)| k.cmp(&key)) {
            Ok(i) => match self {
                Lang::Zh => STRINGS[i].1,
                Lang::En => STRINGS[i].2,
            },
            Err(_) => "",
        }
    }

    /// A field error in this language: the field's own message in Chinese (the service's reasons
    /// are English), the precise reason in English.
    pub fn field_error(self, field: &str, reason: &str) -> String {
        match self {
            Lang::En => {
                let label = self.t(&format!("field.{field}"));
                if label == STRINGS_MISSING {
                    reason.to_string()
                } else {
                    format!("{label}: {reason}")
                }
            }
            Lang::Zh => {
                let msg = self.t(&format!("err.field.{field}"));
                if msg == STRINGS_MISSING {
                    format!("{}（{reason}）", self.t("err.field.generic"))
                } else {
                    msg.to_string()
                }
            }
        }
    }

    /// A limit such as `2 working_days` as people say it.
    pub fn limit(self, text: &str) -> String {
        let Some((n, unit)) = text.trim().split_once(' ') else {
            return text.to_string();
        };
        let u = self.t(&format!("unit.{unit}"));
        if u == STRINGS_MISSING {
            return text.to_string();
        }
        match self {
            Lang::Zh => format!("{n} {u}"),
            Lang::En => format!("{n} {u}"),
        }
    }
}

const STRINGS_MISSING: &str = "…";

/// (key, zh-CN, en), sorted by key (a test checks).
pub static STRINGS: &[(&str, &str, &str)] = &[
    ("account.name", "姓名", "Name"),
    ("account.role", "角色", "Role"),
    ("account.title", "我的账号", "My account"),
    (
        "account.totp",
        "两步验证（动态口令）",
        "Two-step login (authenticator code)",
    ),
    (
        "account.totp_code",
        "验证器上显示的 6 位数字",
        "The 6 digits the app shows",
    ),
    ("account.totp_confirm", "确认绑定", "Confirm"),
    (
        "account.totp_done",
        "两步验证已开启：今后登录需填写动态口令",
        "Two-step login is on: every login now asks for the app's code",
    ),
    (
        "account.totp_off",
        "未开启。开启后，登录时除密码外还需填写手机验证器上的动态口令",
        "Off. Once on, logging in asks for your authenticator app's code as well as the password",
    ),
    (
        "account.totp_on",
        "已开启：登录时需填写动态口令",
        "On: every login asks for the app's code",
    ),
    (
        "account.totp_replace",
        "更换密钥（换手机时）",
        "Replace the secret (new phone)",
    ),
    (
        "account.totp_required",
        "本单位要求管理员开启两步验证，请立即绑定",
        "Administrators must use two-step login here: enrol now",
    ),
    (
        "account.totp_scan",
        "用验证器应用（如 Google Authenticator、Microsoft Authenticator、阿里云 App）扫描二维码，或手动输入下面的密钥，然后填写它显示的 6 位数字",
        "Scan the QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, …) or type the key below, then enter the 6 digits it shows",
    ),
    ("account.totp_secret", "密钥：", "Key:"),
    (
        "account.totp_start",
        "开启两步验证",
        "Turn on two-step login",
    ),
    (
        "account.totp_wrong",
        "动态口令不正确，请核对手机时间后填写最新的 6 位数字",
        "That code is not right: check the phone's clock and enter the newest 6 digits",
    ),
    ("action.accept", "签收", "Accept"),
    ("action.acknowledge", "告知受理", "Acknowledge"),
    ("action.answer_re_review", "复核答复", "Answer re-review"),
    ("action.answer_review", "复查答复", "Answer review"),
    ("action.approve_extension", "批准延期", "Approve extension"),
    ("action.assign", "指派", "Assign"),
    ("action.close", "结案", "Close"),
    ("action.close_resolved", "化解结案", "Close as resolved"),
    (
        "action.close_unresolved",
        "未化解结案",
        "Close as unresolved",
    ),
    ("action.comment", "群众补充", "Resident's update"),
    ("action.conclude", "办结", "Conclude"),
    ("action.dispatch", "派遣", "Dispatch"),
    ("action.evaluate", "调解评估", "Evaluate the mediation"),
    ("action.expedite", "加急", "Expedite"),
    ("action.fail_mediation", "调解不成", "Mediation failed"),
    ("action.follow_up", "回访", "Follow up"),
    ("action.forward", "转送", "Forward"),
    ("action.hand_on", "移交", "Hand on"),
    ("action.handle", "处置反馈", "Report handled"),
    ("action.link_duplicate", "合并重复件", "Link as duplicate"),
    ("action.not_accept", "不予受理", "Do not accept"),
    ("action.note", "说明", "Note"),
    ("action.object", "提出异议", "Object"),
    ("action.photo", "现场照片（可选）", "Photo (optional)"),
    ("action.rate", "评价", "Rate"),
    ("action.reach_agreement", "达成协议", "Agreement reached"),
    (
        "action.record_court_confirmation",
        "记录司法确认",
        "Record court confirmation",
    ),
    ("action.record_session", "记录调解", "Record session"),
    ("action.refuse_extension", "驳回延期", "Refuse extension"),
    ("action.refuse_mediation", "拒绝调解", "Mediation refused"),
    ("action.register", "立案", "Register"),
    ("action.reject", "不予立案", "Reject"),
    (
        "action.remind_court_confirmation",
        "提醒司法确认",
        "Remind of court confirmation",
    ),
    ("action.reply", "答复", "Reply"),
    ("action.report", "上报", "Reported"),
    (
        "action.request_extension",
        "申请延期",
        "Ask for an extension",
    ),
    ("action.request_re_review", "申请复核", "Request re-review"),
    ("action.request_review", "申请复查", "Request review"),
    ("action.resume", "恢复", "Resume"),
    ("action.return", "退回", "Return"),
    ("action.self_handle", "自行处置", "Handled on the spot"),
    ("action.supervise", "督办", "Supervise"),
    ("action.suspend", "挂起", "Suspend"),
    ("action.take_charge", "领导包案", "Take charge (leader)"),
    ("action.verify", "核查", "Verify"),
    ("action.void", "作废", "Void"),
    ("action.watch", "超时督办", "Deadline watch"),
    ("addresses.activate", "恢复", "Reactivate"),
    ("addresses.active", "在用", "Active"),
    ("addresses.add", "添加门牌", "Add the address"),
    ("addresses.building", "楼栋", "Building"),
    ("addresses.deactivate", "停用", "Deactivate"),
    ("addresses.door", "门牌/室号", "Door number"),
    ("addresses.export_csv", "导出 CSV", "Export CSV"),
    ("addresses.export_xlsx", "导出 Excel", "Export Excel"),
    ("addresses.grid", "网格", "Grid"),
    ("addresses.import", "导入门牌", "Import addresses"),
    (
        "addresses.import.lead",
        "上传 Excel（XLSX）或 CSV 表格：每行一个门牌（网格、楼栋、单元、门牌/室号，可选关联场所）。整表要么全部导入，要么一行不写，并逐行列出问题；同一门牌再次导入不会重复。",
        "Upload an Excel (XLSX) or CSV table, one door per row (grid, building, unit, door number, optionally a linked place). The whole table is imported or none of it, with every problem listed by row; a door imported again is not doubled.",
    ),
    ("addresses.inactive", "已停用", "Inactive"),
    ("addresses.new", "新增门牌", "New address"),
    ("addresses.of_place", "此场所的门牌", "Doors of this place"),
    ("addresses.place", "关联场所", "Linked place"),
    ("addresses.template", "导入模板", "Import template"),
    ("addresses.title", "门牌台账", "Addresses register"),
    ("addresses.unit", "单元", "Unit"),
    (
        "addresses.unvisited",
        "本期未走访",
        "Not visited this period",
    ),
    ("addresses.visit", "走访", "Visit"),
    ("admin.accounts", "账号与角色", "Accounts and roles"),
    ("admin.activate", "启用", "Activate"),
    ("admin.active", "启用", "Active"),
    (
        "admin.categories",
        "问题分类与处置时限",
        "Categories and deadlines",
    ),
    ("admin.code", "代码", "Code"),
    ("admin.create_user", "新建账号", "Create account"),
    ("admin.crs", "坐标系", "Coordinate system"),
    ("admin.deactivate", "停用", "Deactivate"),
    (
        "admin.department_kind",
        "默认部门类别",
        "Default department kind",
    ),
    ("admin.departments", "职能部门", "Departments"),
    ("admin.disabled", "已停用", "Disabled"),
    ("admin.display_name", "显示名称", "Display name"),
    (
        "admin.edit_accounts",
        "修改账号（角色、范围、停用、重置密码）",
        "Edit accounts (role, scope, disable, reset password)",
    ),
    ("admin.edit_category", "编辑分类", "Edit category"),
    ("admin.file", "文件", "File"),
    (
        "admin.file_required",
        "请选择要上传的文件",
        "Choose a file to upload",
    ),
    (
        "admin.import.calendar",
        "导入节假日日历",
        "Import the holiday calendar",
    ),
    (
        "admin.import.calendar.hint",
        "CSV：日期、类型（holiday/workday）、中文名、英文名",
        "CSV: date, kind (holiday/workday), Chinese name, English name",
    ),
    ("admin.import.divisions", "导入行政区划", "Import divisions"),
    (
        "admin.import.divisions.hint",
        "国家统计局统计用区划代码 CSV（可为 .gz）",
        "NBS division-code CSV (.gz accepted)",
    ),
    ("admin.import.grids", "导入网格", "Import grids"),
    (
        "admin.import.grids.hint",
        "GeoJSON 要素集合，属性 code（15 位网格编码）和 name",
        "GeoJSON FeatureCollection with properties code (15-digit grid code) and name",
    ),
    ("admin.imported", "导入完成", "Imported"),
    ("admin.imports", "数据导入", "Imports"),
    (
        "admin.limit_normal",
        "处置时限（一般）",
        "Handling limit (normal)",
    ),
    (
        "admin.limit_urgent",
        "处置时限（紧急）",
        "Handling limit (urgent)",
    ),
    (
        "admin.limits",
        "处置时限（紧急程度 × 环节）",
        "Limits (urgency × stage)",
    ),
    (
        "admin.limits_hint",
        "格式：数量 单位，单位为 working_hours、working_days、natural_hours 或 natural_days，如 2 working_days。",
        "Write the amount and the unit: working_hours, working_days, natural_hours or natural_days, e.g. 2 working_days.",
    ),
    ("admin.line", "第", "line"),
    (
        "admin.new_password",
        "新密码（留空不变）",
        "New password (empty: unchanged)",
    ),
    ("admin.no", "否", "No"),
    (
        "admin.not_utf8",
        "文件不是 UTF-8 编码",
        "The file is not UTF-8 text",
    ),
    (
        "admin.refused",
        "导入被拒绝，未写入任何数据：",
        "Import refused, nothing written:",
    ),
    ("admin.role", "角色", "Role"),
    ("admin.save", "保存", "Save"),
    ("admin.saved", "已保存", "Saved"),
    (
        "admin.scope",
        "负责范围（区划或网格编码）",
        "Scope (region or grid codes)",
    ),
    ("admin.title", "系统管理", "Administration"),
    ("admin.upload", "上传", "Upload"),
    ("admin.user_created", "账号已创建", "Account created"),
    ("admin.yes", "是", "Yes"),
    (
        "app.footer",
        "平安网格 · 网格化服务管理开源平台 · 个人信息仅用于办理，依法保护",
        "safegrid · open-source grid-based community governance · personal data used only to handle cases",
    ),
    ("app.name", "平安网格", "safegrid"),
    ("board.empty", "暂无案件", "No cases yet"),
    (
        "board.lead",
        "近 30 天群众反映的城市问题及办理状态（已匿名，不含个人信息）。",
        "City problems reported in the last 30 days and where they stand (anonymised, no personal data).",
    ),
    ("board.map_label", "近期案件地图", "Map of recent cases"),
    ("board.recent", "最近案件", "Recent cases"),
    ("board.title", "公开看板", "Public board"),
    ("campaign.all_departments", "全部部门", "All departments"),
    ("campaign.all_places", "全部场所", "every place"),
    ("campaign.answer.choice", "单选", "Choice"),
    ("campaign.answer.number", "数字", "Number"),
    ("campaign.answer.photo", "照片", "Photo"),
    ("campaign.answer.text", "文字", "Text"),
    ("campaign.answer.yes_no", "是/否", "Yes/no"),
    ("campaign.checklist", "检查表", "Checklist"),
    (
        "campaign.checklist_help",
        "每项一个检查内容；选了隐患分类的项，符合隐患条件的回答将自动生成隐患整改件。",
        "One line per check; an item with a hazard category opens a hazard case for each answer that meets its rule.",
    ),
    ("campaign.close", "结束", "Close"),
    ("campaign.closed_out", "已销号", "Closed out"),
    ("campaign.copy", "复制为新草稿", "Copy as a new draft"),
    ("campaign.coverage", "覆盖率", "Coverage"),
    ("campaign.department", "责任部门", "Department"),
    ("campaign.due", "应查", "Due"),
    ("campaign.edit", "修改草稿", "Edit the draft"),
    ("campaign.ends_on", "截止日期", "Ends on"),
    ("campaign.extend", "延期", "Extend"),
    ("campaign.hazards", "隐患数", "Hazards"),
    ("campaign.inspected", "已查", "Inspected"),
    (
        "campaign.inspections",
        "检查与隐患",
        "Inspections and hazards",
    ),
    ("campaign.item.add", "添加检查项", "Add item"),
    ("campaign.item.answer", "回答方式", "Answer"),
    ("campaign.item.category", "隐患分类", "Hazard category"),
    ("campaign.item.hazard", "隐患条件", "Hazard when"),
    ("campaign.item.key", "代码（英文小写）", "Key (a-z, 0-9, _)"),
    ("campaign.item.limit", "整改时限", "Rectification limit"),
    ("campaign.item.no_hazard", "（不产生隐患）", "(no hazard)"),
    (
        "campaign.item.options",
        "选项（用 | 分隔）",
        "Options (separated by |)",
    ),
    ("campaign.item.remove", "删除此项", "Remove item"),
    ("campaign.item.required", "必填", "Required"),
    ("campaign.item.severity", "隐患等级", "Severity"),
    (
        "campaign.item.text_en",
        "检查内容（英文，可选）",
        "Check (English, optional)",
    ),
    (
        "campaign.item.text_zh",
        "检查内容（中文）",
        "Check (Chinese)",
    ),
    ("campaign.kind", "类别", "Kind"),
    ("campaign.level", "层级", "Level"),
    ("campaign.list.title", "专项行动", "Campaigns"),
    ("campaign.map", "覆盖率地图", "Coverage map"),
    ("campaign.new", "新建专项行动", "New campaign"),
    ("campaign.no", "否", "No"),
    ("campaign.on_time", "按期整改", "Rectified on time"),
    ("campaign.overdue", "逾期", "Overdue"),
    ("campaign.pending", "待查", "Pending"),
    ("campaign.period", "时间", "Period"),
    ("campaign.place_kinds", "场所类型", "Place kinds"),
    (
        "campaign.place_kinds_help",
        "不选即覆盖范围内全部场所。",
        "None chosen: every place of the territory.",
    ),
    ("campaign.progress", "进度表", "Progress"),
    ("campaign.publish", "发布", "Publish"),
    (
        "campaign.region",
        "范围（区划代码）",
        "Territory (region code)",
    ),
    ("campaign.save_draft", "保存草稿", "Save draft"),
    ("campaign.severity.general", "一般隐患", "General"),
    ("campaign.severity.major", "重大隐患", "Major"),
    ("campaign.starts_on", "开始日期", "Starts on"),
    ("campaign.status", "状态", "Status"),
    ("campaign.status.closed", "已结束", "Closed"),
    ("campaign.status.draft", "草稿", "Draft"),
    ("campaign.status.published", "进行中", "Under way"),
    ("campaign.title", "名称", "Title"),
    ("campaign.unreachable", "未能检查", "Unreachable"),
    ("campaign.yes", "是", "Yes"),
    ("case.actions", "可办理的操作", "What you can do now"),
    ("case.address", "地址", "Address"),
    ("case.area", "所属区域", "Area"),
    ("case.category", "问题分类", "Category"),
    ("case.channel", "来源", "Channel"),
    ("case.created", "已上报。", "Reported."),
    ("case.department", "处置部门", "Department"),
    ("case.due_at", "处置时限", "Handling deadline"),
    ("case.expedited", "加急", "Expedited"),
    ("case.grid", "网格", "Grid"),
    ("case.map_label", "案件位置地图", "Map of the case location"),
    (
        "case.no_actions",
        "当前状态下您没有可办理的操作。",
        "Nothing for you to do in this state.",
    ),
    ("case.number", "案件编号", "Case number"),
    ("case.pending_extension", "申请延期", "Extension asked"),
    ("case.rating", "群众评价", "Rating"),
    ("case.reported_at", "上报时间", "Reported"),
    ("case.reporter", "反映人", "Reporter"),
    ("case.stage_due", "本环节时限", "Stage deadline"),
    ("case.supervised", "督办", "Supervised"),
    ("case.tracking_code", "查询码", "Tracking code"),
    ("case.urgency", "紧急程度", "Urgency"),
    ("channel.agency", "部门转办", "Agency"),
    ("channel.app", "手机应用", "App"),
    ("channel.grid_worker", "网格员上报", "Grid worker"),
    ("channel.hotline", "热线", "Hotline"),
    ("channel.open311", "Open311", "Open311"),
    ("channel.web", "网上反映", "Web"),
    ("channel.wechat", "微信", "WeChat"),
    ("coverage.export", "导出 Excel", "Export Excel"),
    ("coverage.grids", "网格", "Grids"),
    ("coverage.known", "门牌数", "Known addresses"),
    (
        "coverage.map_label",
        "各网格走访覆盖率地图",
        "Map of grids coloured by visit coverage",
    ),
    ("coverage.name", "名称", "Name"),
    ("coverage.period", "周期", "Period"),
    ("coverage.region", "区域编码", "Region code"),
    ("coverage.share", "覆盖率", "Coverage"),
    ("coverage.title", "走访覆盖率", "Visit coverage"),
    ("coverage.townships", "乡镇（街道）", "Townships"),
    (
        "coverage.villages",
        "村（社区）",
        "Villages and communities",
    ),
    ("coverage.visited", "已走访", "Visited"),
    ("dash.crumbs", "区域层级", "Territory"),
    ("dash.departments", "部门排名", "Departments ranking"),
    ("dash.from", "自", "From"),
    ("dash.grade", "等级", "Grade"),
    ("dash.map", "分区地图", "Map"),
    (
        "dash.map_label",
        "按所选指标着色的下级区域地图",
        "Map of child areas coloured by the chosen measure",
    ),
    ("dash.measure", "着色指标", "Measure"),
    ("dash.name", "名称", "Name"),
    ("dash.ranking", "下级排名", "Ranking"),
    ("dash.title", "综合评价", "Dashboard"),
    ("dash.to", "至", "To"),
    ("dash.trend", "月度趋势", "Monthly trend"),
    (
        "dispatch.deadline",
        "立即派遣的处置时限：",
        "Handling deadline if dispatched now:",
    ),
    ("dispatch.due_short", "时限", "deadline"),
    (
        "duplicate.none",
        "未发现疑似重复件",
        "No likely duplicates found",
    ),
    ("duplicate.of", "重复于", "Duplicate of"),
    (
        "err.busy",
        "系统繁忙，请稍候片刻再试。",
        "The system is busy; please try again in a moment.",
    ),
    ("err.busy.title", "系统繁忙", "System busy"),
    (
        "err.csrf",
        "表单已过期或来源不明。请返回、刷新页面后重试。",
        "The form has expired or did not come from this site. Go back, reload the page and try again.",
    ),
    ("err.csrf.title", "请重新提交", "Please submit again"),
    (
        "err.field.address",
        "地址过长或含有不允许的字符",
        "Address is too long or contains characters that are not allowed",
    ),
    ("err.field.category", "请选择问题分类", "Choose a category"),
    (
        "err.field.crs",
        "坐标系只能是 wgs84 或 gcj02",
        "Coordinate system must be wgs84 or gcj02",
    ),
    (
        "err.field.department",
        "请选择有效的处置部门",
        "Choose a valid department",
    ),
    (
        "err.field.description",
        "请描述问题（不超过 4000 字）",
        "Describe the problem (at most 4,000 characters)",
    ),
    (
        "err.field.extend_by",
        "延期时长格式不正确",
        "The extension is not in a valid form",
    ),
    ("err.field.generic", "填写有误", "Please check this field"),
    (
        "err.field.lat",
        "请在地图上点选位置或填写地址（位置须在本市范围内）",
        "Pick the place on the map or give an address (inside the city)",
    ),
    (
        "err.field.limit",
        "时限格式不正确，如：2 working_days",
        "Not a valid limit, e.g. 2 working_days",
    ),
    (
        "err.field.lon",
        "经度格式不正确",
        "The longitude is not valid",
    ),
    (
        "err.field.note",
        "请填写说明（原因）",
        "Give a note (the reason)",
    ),
    (
        "err.field.passed",
        "请选择核查结果：通过或不通过",
        "Choose the result: pass or fail",
    ),
    (
        "err.field.password",
        "密码至少 10 个字符",
        "The password needs at least 10 characters",
    ),
    (
        "err.field.reason",
        "请填写查看理由（4至500字）",
        "Give a reason (4 to 500 characters)",
    ),
    (
        "err.field.reporter.name",
        "姓名过长或含有不允许的字符",
        "The name is too long or has characters that are not allowed",
    ),
    (
        "err.field.reporter.phone",
        "请填写有效的手机号或固定电话",
        "Give a valid mobile or landline number",
    ),
    ("err.field.role", "请选择角色", "Choose a role"),
    (
        "err.field.scope",
        "负责范围中的编码不正确",
        "A code in the scope is not valid",
    ),
    ("err.field.score", "请选择 1 至 5 星", "Choose 1 to 5 stars"),
    (
        "err.field.username",
        "用户名不可用（1–50 个字符、不含空格，且未被占用）",
        "The username is not available (1–50 characters, no spaces, not taken)",
    ),
    (
        "err.field.version",
        "案件已被他人更新，请刷新后重试",
        "Someone else updated the case; reload and try again",
    ),
    (
        "err.forbidden",
        "您的账号无权查看此页面。",
        "Your account may not see this page.",
    ),
    ("err.forbidden.title", "无权访问", "Not allowed"),
    (
        "err.form_unreadable",
        "表单无法读取，请重试",
        "The form could not be read; try again",
    ),
    ("err.home", "返回首页", "Back to the start page"),
    (
        "err.internal",
        "系统出现问题，已记录。请稍后重试。",
        "Something went wrong on our side; it has been logged. Try again later.",
    ),
    ("err.internal.title", "系统错误", "System error"),
    (
        "err.not_allowed",
        "当前状态下不能办理此操作（可能已被他人处理），请刷新页面查看最新状态。",
        "This action is not possible in the case's current state (someone may have acted first); reload the page.",
    ),
    (
        "err.notfound",
        "没有找到您要的页面或案件。",
        "The page or case you asked for was not found.",
    ),
    ("err.notfound.title", "未找到", "Not found"),
    (
        "err.rate_limited",
        "提交过于频繁，请稍后再试。",
        "Too many submissions; please wait a little and try again.",
    ),
    ("err.refused.title", "无法办理", "Cannot be done"),
    ("err.request_id", "请求编号", "Request id"),
    ("extension.by", "延期时长", "Extend by"),
    ("field.address", "Address", "Address"),
    ("field.category", "Category", "Category"),
    ("field.description", "Description", "Description"),
    ("field.lat", "Location", "Location"),
    ("field.limit", "Limit", "Limit"),
    ("field.note", "Note", "Note"),
    ("field.reason", "查看理由", "Reason"),
    ("field.reporter.phone", "Phone", "Phone"),
    ("filter.all", "全部", "All"),
    ("filter.apply", "筛选", "Apply"),
    ("filter.area", "区县", "Area"),
    ("filter.category", "问题分类", "Category"),
    ("filter.category_code", "分类代码", "Category code"),
    ("filter.closed", "已办结", "Closed"),
    ("filter.light", "红绿灯", "Light"),
    ("filter.open", "办理中", "Open"),
    ("filter.open_only", "仅办理中", "Open only"),
    ("filter.region", "区划/网格编码", "Region or grid code"),
    ("filter.status", "状态", "Status"),
    ("filter.text", "关键词", "Text"),
    (
        "form.has_errors",
        "请修改下面标出的内容后重新提交。",
        "Please correct the fields marked below and submit again.",
    ),
    ("form.required", "必填", "required"),
    (
        "grid.map_label",
        "我的网格与在办案件地图",
        "Map of my grid and its open cases",
    ),
    ("grid.mine", "我上报的案件", "My reports"),
    ("grid.open", "网格内在办案件", "Open cases in my grid"),
    ("grid.quick_report", "＋ 快速上报", "+ Quick report"),
    ("grid.title", "我的网格", "My grid"),
    ("grid.to_verify", "待我核查", "Waiting for my verification"),
    (
        "help.accept",
        "确认本部门负责处置，开始计时。",
        "Confirm your department handles it; the clock runs.",
    ),
    (
        "help.approve_extension",
        "同意部门的延期申请，处置时限相应顺延。",
        "Grant the extension; the deadline moves.",
    ),
    (
        "help.close",
        "核查通过后结案。",
        "Close the case after a passed verification.",
    ),
    (
        "help.dispatch",
        "派给负责的职能部门，下方显示将生成的处置时限。",
        "Send it to the responsible department; the deadline it will get is shown below.",
    ),
    ("help.expedite", "标记加急。", "Mark as urgent."),
    (
        "help.handle",
        "处置完成后反馈结果，可附现场照片。",
        "Report the result when done, with a photo if you can.",
    ),
    (
        "help.link_duplicate",
        "与已有案件是同一问题且无新情况：合并，不再派遣。",
        "The same matter as an existing case with nothing new: link it, no new dispatch.",
    ),
    (
        "help.rate",
        "记录群众回访评价。",
        "Record the resident's follow-up rating.",
    ),
    (
        "help.refuse_extension",
        "不同意延期，需说明理由。",
        "Refuse the extension, with the reason.",
    ),
    (
        "help.register",
        "确认为有效案件并立案。",
        "Accept it as a valid case.",
    ),
    (
        "help.reject",
        "不属于受理范围或信息无效，需说明理由。",
        "Not a valid case; give the reason.",
    ),
    (
        "help.request_extension",
        "无法按期完成时申请延期，需说明理由。",
        "Ask for more time, with the reason.",
    ),
    (
        "help.resume",
        "恢复办理，计时继续。",
        "Resume; the clock continues.",
    ),
    (
        "help.return",
        "派遣有误时退回指挥中心改派，需说明理由。",
        "Send a wrong dispatch back, with the reason.",
    ),
    (
        "help.self_handle",
        "已在现场自行处置，记录后待核查。",
        "Fixed on the spot; recorded, then verified.",
    ),
    (
        "help.supervise",
        "对本案督办（黄牌/红牌）。",
        "Flag the case for supervision (yellow/red card).",
    ),
    (
        "help.suspend",
        "长期无法处置时挂起，挂起期间不计时，需说明理由。",
        "Suspend a case that cannot be handled for now; the clock stops. Give the reason.",
    ),
    (
        "help.verify",
        "到现场核查处置结果：通过或不通过（不通过需说明，案件返工）。",
        "Check the fix on site: pass, or fail with a note (the case goes back for rework).",
    ),
    (
        "help.void",
        "立案有误时作废，需说明理由。",
        "Void a wrongly registered case, with the reason.",
    ),
    (
        "inbox.title",
        "本部门待办（按时限排序）",
        "Department inbox (by deadline)",
    ),
    ("inspect.note", "备注", "Note"),
    ("inspect.outcome", "检查结果", "Outcome"),
    ("inspect.outcome.closed", "已停业", "Closed down"),
    ("inspect.outcome.inspected", "已检查", "Inspected"),
    ("inspect.outcome.not_found", "未找到", "Not found"),
    ("inspect.outcome.refused_entry", "拒绝检查", "Entry refused"),
    ("inspect.submit", "提交检查", "Submit inspection"),
    ("inspect.title", "场所检查", "Inspection"),
    ("kpi.close_rate", "结案率", "Close rate"),
    ("kpi.closed", "结案数", "Closed"),
    ("kpi.dispatched", "派遣数", "Dispatched"),
    ("kpi.handled", "处置数", "Handled"),
    ("kpi.handling_rate", "处置率", "Handling rate"),
    ("kpi.on_time_close_rate", "按期结案率", "On-time close rate"),
    (
        "kpi.on_time_handling_rate",
        "按期处置率",
        "On-time handling rate",
    ),
    ("kpi.registered", "立案数", "Registered"),
    ("kpi.reported", "上报数", "Reported"),
    ("kpi.rework_rate", "返工率", "Rework rate"),
    ("kpi.satisfaction_rate", "满意率", "Satisfaction"),
    ("kpi.score", "综合得分", "Composite score"),
    ("level.county", "区县", "Counties"),
    ("level.grid", "网格", "Grids"),
    ("level.township", "乡镇街道", "Townships"),
    ("level.village", "村社区", "Villages"),
    ("light.green", "正常", "In time"),
    ("light.none", "不计时", "No clock"),
    ("light.red", "超期", "Overdue"),
    ("light.yellow", "将到期", "Nearly due"),
    ("list.empty", "暂无案件", "Nothing here"),
    ("list.next", "下一页", "Next"),
    ("list.pages", "分页", "Pages"),
    ("list.prev", "上一页", "Previous"),
    (
        "login.bad",
        "用户名、密码或动态口令错误",
        "Wrong username, password or code",
    ),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("login.title", "工作人员登录", "Staff login"),
    (
        "login.too_many",
        "尝试次数过多，请稍后再试",
        "Too many attempts; try again later",
    ),
    ("login.totp", "动态口令", "Two-factor code"),
    (
        "login.totp_enrol",
        "管理员须使用动态口令登录，本账号尚未绑定，请联系安全管理员绑定",
        "Administrators log in with a second factor and this account has none yet: ask the security administrator to enrol it",
    ),
    (
        "login.totp_hint",
        "已开启两步验证的账号填写验证器上的 6 位数字，其他账号留空",
        "The 6 digits your authenticator app shows, if your account uses two-step login; otherwise leave empty",
    ),
    (
        "login.totp_required",
        "本账号已开启两步验证，请填写验证器上的 6 位动态口令",
        "This account uses two-step login: enter the 6-digit code from your authenticator app",
    ),
    ("login.username", "用户名", "Username"),
    ("nav.admin", "管理", "Admin"),
    ("nav.board", "公开看板", "Public board"),
    ("nav.campaigns", "专项行动", "Campaigns"),
    ("nav.cases", "案件查询", "Search"),
    ("nav.coverage", "走访覆盖", "Coverage"),
    ("nav.dashboard", "综合评价", "Dashboard"),
    ("nav.grid", "我的网格", "My grid"),
    ("nav.inbox", "部门待办", "Inbox"),
    ("nav.label", "主导航", "Main"),
    ("nav.login", "工作人员登录", "Staff login"),
    ("nav.logout", "退出", "Log out"),
    ("nav.menu", "菜单", "Menu"),
    ("nav.overdue", "超期督办", "Overdue"),
    ("nav.places", "场所台账", "Places"),
    ("nav.queue", "受理", "Intake"),
    ("nav.report", "我要反映", "Report"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("nav.staffing", "网格配置", "Staffing"),
    ("nav.tasks", "今日任务", "Today's tasks"),
    ("nav.teams", "群防群治", "Volunteers & patrols"),
    ("nav.track", "进度查询", "Track"),
    ("nav.visits", "走访", "Visits"),
    ("nav.volunteer", "志愿者报名", "Volunteer"),
    ("offline.dismiss", "移除", "Remove"),
    ("offline.done", "已全部发送", "All sent"),
    ("offline.empty", "无", "None"),
    ("offline.kind.inspection", "检查", "Inspection"),
    ("offline.kind.patrol", "巡防记录", "Patrol log"),
    ("offline.kind.report", "上报问题", "Report"),
    ("offline.kind.verify", "核查", "Verification"),
    ("offline.kind.visit", "走访记录", "Visit"),
    (
        "offline.lead",
        "没有网络时提交的表单先保存在本机，网络恢复后自动发送；被拒绝的会列在这里并说明原因，不会悄悄丢失。",
        "Forms submitted without a connection are kept on this phone and sent when the connection returns; any the server refuses are listed here with the reason, never lost silently.",
    ),
    (
        "offline.login_again",
        "登录已过期：请重新登录后再发送",
        "Your session ended: log in again, then send",
    ),
    (
        "offline.manifest_description",
        "网格员的离线工作台：今日任务、上报问题、检查和核查",
        "The grid worker's pages, offline: today's tasks, reports, inspections and verifications",
    ),
    (
        "offline.no_sw",
        "此浏览器不支持离线保存（需要 HTTPS）",
        "This browser cannot keep forms offline (HTTPS is needed)",
    ),
    ("offline.open", "查看", "Open"),
    (
        "offline.other_account",
        "由另一个账号填写：请用该账号登录后发送",
        "Filled in under another account: log in as it to send",
    ),
    ("offline.outbox", "待发送", "Outbox"),
    ("offline.photos", "照片", "photos"),
    (
        "offline.queued",
        "没有网络：已保存在本机，网络恢复后自动发送",
        "No connection: saved on this phone, it will be sent when the connection returns",
    ),
    ("offline.refused", "被拒绝", "Refused"),
    (
        "offline.refused_hint",
        "服务器没有接受这些提交：请按原因处理后重新填写。",
        "The server did not accept these: see why, then fill the form in again.",
    ),
    ("offline.saved_at", "保存于", "saved"),
    ("offline.send_now", "立即发送", "Send now"),
    ("offline.sending", "正在发送…", "Sending…"),
    ("offline.sent", "已发送", "Sent"),
    ("offline.sent_at", "发送于", "sent"),
    (
        "offline.state_changed",
        "案件当前状态为「{state}」，您离线提交的「{action}」未执行",
        "The case is now {state}; your offline {action} was not applied",
    ),
    ("offline.tiles", "离线地图", "Offline map"),
    ("offline.tiles_done", "已保存地图瓦片", "Map tiles saved"),
    (
        "offline.tiles_hint",
        "把我负责网格范围内的地图瓦片保存到本机，离线时也能看地图。",
        "Keep the map tiles over my grids on this phone, to see the map offline.",
    ),
    (
        "offline.tiles_save",
        "保存我网格的地图",
        "Save my grids' map",
    ),
    ("offline.tries", "尝试次数", "tries"),
    (
        "offline.unreachable",
        "服务器暂时无法连接，稍后自动重试",
        "The server cannot be reached; retrying later",
    ),
    ("offline.waiting", "等待发送", "Waiting"),
    (
        "overdue.title",
        "超期与将到期案件",
        "Overdue and nearly due",
    ),
    (
        "patrols.add_schedule",
        "新增巡防排班",
        "Add a patrol schedule",
    ),
    ("patrols.address", "发现地点", "Where it was found"),
    (
        "patrols.category",
        "转为事件的类别代码（可选）",
        "Case category code to open a case (optional)",
    ),
    ("patrols.count", "巡防次数", "Patrols"),
    ("patrols.ended_at", "结束时间", "Ended"),
    ("patrols.finding", "发现情况", "Finding"),
    ("patrols.hours", "服务时长（小时）", "Hours"),
    ("patrols.log", "登记巡防", "Log a patrol"),
    ("patrols.logs", "巡防记录", "Patrol logs"),
    ("patrols.members", "参加人员", "Who took part"),
    (
        "patrols.members_hint",
        "不勾选则全队值班",
        "None ticked: the whole team is on duty",
    ),
    ("patrols.minutes", "分钟", "minutes"),
    ("patrols.month", "月份", "Month"),
    ("patrols.next", "近期", "Next"),
    (
        "patrols.no_tracking",
        "只记录起止时间和发现情况，不记录任何人的行动轨迹。",
        "Only the times and findings are kept; nobody's movements are recorded.",
    ),
    ("patrols.note", "备注", "Note"),
    ("patrols.repeat_until", "每周重复至", "Repeat weekly until"),
    ("patrols.roll", "光荣榜", "Honour roll"),
    ("patrols.route", "计划路线", "Planned route"),
    ("patrols.save", "保存巡防记录", "Save the patrol"),
    ("patrols.schedule_title", "排班名称", "Schedule name"),
    ("patrols.schedules", "巡防排班", "Patrol schedules"),
    ("patrols.started_at", "开始时间", "Started"),
    ("patrols.top_members", "优秀志愿者", "Top volunteers"),
    ("patrols.top_teams", "优秀队伍", "Top teams"),
    ("patrols.weekly", "每周", "Weekly"),
    ("photo.alt", "现场照片", "Photo"),
    (
        "photo.too_large",
        "照片超过 10 MB，请压缩后重试",
        "The photo is larger than 10 MB; make it smaller and try again",
    ),
    ("photo.too_many", "最多上传 4 张照片", "At most 4 photos"),
    (
        "photo.too_many_pixels",
        "照片尺寸过大（每边最多 12,000 像素、共 5000 万像素，解码后不超过 160 MB）",
        "The photo's dimensions are too large (at most 12,000 pixels a side, 50 megapixels, 160 MB decoded)",
    ),
    (
        "photo.unreadable",
        "照片无法读取，文件可能已损坏",
        "The photo cannot be read; the file may be damaged",
    ),
    (
        "photo.wrong_type",
        "只接受 JPEG、PNG 或 WebP 格式的照片",
        "Only JPEG, PNG or WebP photos are accepted",
    ),
    ("place.address", "地址", "Address"),
    ("place.area", "所在区域", "Area"),
    ("place.contact", "联系人", "Contact"),
    (
        "place.contact_clear",
        "删除已登记的联系人",
        "Remove the stored contact",
    ),
    (
        "place.contact_hint",
        "场所自身的联系人（房东、负责人），不登记住户个人信息；对外一律脱敏显示。",
        "The place's own contact (landlord, manager), never residents; shown masked.",
    ),
    (
        "place.contact_keep",
        "联系人留空则保留已登记的联系人（显示为脱敏）。",
        "Leave the contact empty to keep the stored one (shown masked).",
    ),
    ("place.contact_name", "联系人姓名", "Contact name"),
    ("place.contact_phone", "联系电话", "Contact phone"),
    ("place.details", "场所信息", "Place details"),
    ("place.edit", "修改场所信息", "Edit the place"),
    (
        "place.err.address",
        "请填写地址（1至200字，不含控制字符）",
        "Give the address (1 to 200 characters)",
    ),
    (
        "place.err.contact_name",
        "联系人姓名只能包含文字",
        "The contact's name may hold letters only",
    ),
    (
        "place.err.contact_phone",
        "联系电话应为11位手机号或带区号的座机",
        "The phone must be an 11-digit mobile or a landline with its area code",
    ),
    (
        "place.err.external_ref",
        "编号过长或已被本县其他场所使用",
        "The reference is too long or another place of the county holds it",
    ),
    (
        "place.err.grid_code",
        "网格编码应为15位，且须是您管辖的网格",
        "The grid code has 15 digits and must be a grid you look after",
    ),
    (
        "place.err.id",
        "场所标识有误，请刷新页面后重试",
        "The place id is wrong; reload the page",
    ),
    (
        "place.err.kind",
        "请选择场所类型",
        "Choose the kind of place",
    ),
    (
        "place.err.lat",
        "请在地图上点选位置（须在您的网格或辖区内），或只填地址并填写网格编码",
        "Pick the point on the map (inside your grids or territory), or give the grid code of an address-only place",
    ),
    ("place.err.lon", "经度有误", "The longitude is wrong"),
    (
        "place.err.name",
        "请填写名称（1至100字）",
        "Give the name (1 to 100 characters)",
    ),
    (
        "place.err.reason",
        "请填写查看理由（4至500字）",
        "Give a reason (4 to 500 characters)",
    ),
    (
        "place.err.status",
        "状态应为在营、歇业或已注销",
        "The status must be active, closed or gone",
    ),
    (
        "place.err.tags",
        "标签每个不超过20字、最多10个，不含逗号",
        "At most 10 tags of 20 characters, without commas",
    ),
    (
        "place.err.version",
        "该场所已被他人修改，请刷新后重试",
        "Someone changed this place meanwhile; reload it and try again",
    ),
    (
        "place.external_ref",
        "编号（信用代码、楼栋号等）",
        "Reference (credit code, building number …)",
    ),
    ("place.grid", "网格", "Grid"),
    (
        "place.grid_code",
        "网格编码（仅填地址时必填）",
        "Grid code (needed for an address-only place)",
    ),
    (
        "place.grid_code_hint",
        "在地图上点选位置时自动定位网格，可不填。",
        "Found from the point on the map; leave it empty then.",
    ),
    ("place.inspection_photo", "检查照片", "Inspection photo"),
    ("place.inspections", "检查与隐患", "Inspections and hazards"),
    ("place.kind", "场所类型", "Kind"),
    ("place.name", "名称", "Name"),
    (
        "place.no_inspections",
        "暂无检查记录。",
        "No inspections yet.",
    ),
    ("place.point", "坐标", "Point"),
    ("place.save", "保存", "Save"),
    ("place.saved", "已保存", "Saved"),
    ("place.status", "场所状态", "Status"),
    ("place.status_submit", "更改状态", "Change the status"),
    ("place.tags", "标签", "Tags"),
    (
        "place.tags_hint",
        "用逗号分隔，如：电动车，三合一",
        "Comma-separated, e.g. 电动车, 三合一",
    ),
    ("place.updated_at", "最后更新", "Last changed"),
    ("place.where", "位置", "Location"),
    ("places.export_csv", "导出 CSV", "Export CSV"),
    ("places.export_xlsx", "导出 Excel", "Export Excel"),
    ("places.import", "批量导入", "Import"),
    ("places.import.column", "列", "Column"),
    ("places.import.created", "新增", "registered"),
    (
        "places.import.done",
        "导入完成，共读取行数",
        "Imported; rows read",
    ),
    (
        "places.import.file",
        "选择文件（CSV 或 XLSX）",
        "File (CSV or XLSX)",
    ),
    (
        "places.import.lead",
        "下载模板填写后上传。有任何一行出错时整份文件都不会写入，请按下表逐行改正后重新上传；同一编号再次导入即更新该场所。",
        "Fill in the template and upload it. If any row is wrong nothing is written: mend the rows listed and upload again. Importing a reference again updates its place.",
    ),
    (
        "places.import.no_file",
        "请选择要导入的文件",
        "Choose a file to import",
    ),
    ("places.import.reason", "原因", "Reason"),
    (
        "places.import.refused",
        "文件有误，未写入任何数据",
        "The file has problems; nothing was written",
    ),
    ("places.import.row", "行号", "Row"),
    ("places.import.submit", "导入", "Import"),
    ("places.import.unchanged", "未变", "unchanged"),
    ("places.import.updated", "更新", "updated"),
    ("places.map_label", "场所地图", "Map of places"),
    ("places.new", "新增场所", "New place"),
    ("places.q_hint", "名称或地址", "Name or address"),
    (
        "places.template",
        "下载导入模板（XLSX）",
        "Download the template (XLSX)",
    ),
    ("places.title", "场所台账", "Places"),
    ("queue.duplicates", "疑似重复件：", "Likely duplicates:"),
    (
        "queue.title",
        "受理（待立案）",
        "Intake queue (awaiting registration)",
    ),
    (
        "report.address",
        "地址或位置描述（可选）",
        "Address or landmark (optional)",
    ),
    (
        "report.anonymous",
        "匿名反映（不留联系方式）",
        "Stay anonymous (no contact details)",
    ),
    ("report.contact", "联系方式", "Contact"),
    ("report.describe", "描述问题", "Describe it"),
    ("report.description", "问题描述", "Description"),
    ("report.filter_categories", "搜索分类", "Search categories"),
    (
        "report.filter_placeholder",
        "如：井盖、路灯、噪音",
        "e.g. manhole, streetlight, noise",
    ),
    ("report.grid", "所在网格：", "Grid:"),
    ("report.lat", "纬度", "Latitude"),
    (
        "report.lead",
        "在地图上点选问题位置，选择分类并描述，提交后获得查询码，可随时查看办理进度。",
        "Tap the place on the map, pick a category and describe the problem. You get a tracking code to follow it.",
    ),
    ("report.locating", "正在定位…", "Locating…"),
    (
        "report.location_denied",
        "无法获取您的位置，请在地图上点选",
        "Your location is not available; tap the map instead",
    ),
    ("report.lon", "经度", "Longitude"),
    (
        "report.map_label",
        "点选问题位置的地图",
        "Map to pick the problem's place",
    ),
    ("report.name", "称呼（可选）", "Name (optional)"),
    ("report.no_place", "尚未选择位置", "No place chosen yet"),
    (
        "report.outside",
        "该位置不在本市范围内",
        "That place is outside the city",
    ),
    (
        "report.phone",
        "电话（可选，便于回访）",
        "Phone (optional, for a call back)",
    ),
    (
        "report.photos",
        "照片（可选，最多 4 张）",
        "Photos (optional, up to 4)",
    ),
    (
        "report.photos_hint",
        "JPEG、PNG 或 WebP，每张不超过 10 MB；照片中的位置等信息会被自动清除。",
        "JPEG, PNG or WebP, up to 10 MB each; location and other metadata are removed.",
    ),
    (
        "report.privacy",
        "联系方式仅用于回访，工作人员看到的是部分隐藏的信息。",
        "Your contact is only used to call you back; most staff see it partly hidden.",
    ),
    (
        "report.staff_lead",
        "网格巡查发现的问题，直接上报。",
        "Report what you found on patrol.",
    ),
    ("report.staff_title", "快速上报", "Quick report"),
    ("report.submit", "提交", "Submit"),
    ("report.title", "我要反映问题", "Report a problem"),
    ("report.use_location", "使用我的位置", "Use my location"),
    ("report.what", "选择问题分类", "What is it?"),
    ("report.where", "问题在哪里", "Where is it?"),
    ("reveal.audited", "（已记录查看）", "(this view is audited)"),
    ("reveal.button", "查看完整联系方式", "Show full contact"),
    (
        "reveal.reason",
        "查看理由（将记入审计）",
        "Reason (audited)",
    ),
    ("score.1", "很不满意", "very dissatisfied"),
    ("score.2", "不满意", "dissatisfied"),
    ("score.3", "一般", "neutral"),
    ("score.4", "满意", "satisfied"),
    ("score.5", "非常满意", "very satisfied"),
    ("search.title", "案件查询", "Search cases"),
    ("staffing.absent", "请假/缺岗人员", "Absent worker"),
    ("staffing.assign", "分配网格", "Assign"),
    ("staffing.at", "时间", "When"),
    ("staffing.cancel", "取消代班", "Cancel cover"),
    ("staffing.change", "变更", "Change"),
    (
        "staffing.choose",
        "请选择乡镇（街道）查看其网格配置。",
        "Choose a township to see its grids.",
    ),
    ("staffing.cover", "安排代班", "Arrange a cover"),
    ("staffing.cover.active", "代班中", "Active"),
    ("staffing.cover.cancelled", "已取消", "Cancelled"),
    ("staffing.cover.ended", "已结束", "Ended"),
    ("staffing.cover.upcoming", "未开始", "Upcoming"),
    ("staffing.cover_by", "代班人员", "Covered by"),
    ("staffing.covered_by", "当前代班", "Covered now by"),
    ("staffing.covers", "代班安排", "Covers"),
    ("staffing.done.assign", "已分配。", "Assigned."),
    ("staffing.done.cancel", "代班已取消。", "Cover cancelled."),
    ("staffing.done.cover", "代班已安排。", "Cover arranged."),
    ("staffing.done.handover", "网格已交接", "Grid handed over"),
    ("staffing.done.vacate", "岗位已空缺。", "Post vacated."),
    ("staffing.ends", "结束时间", "Ends"),
    ("staffing.grid", "网格", "Grid"),
    ("staffing.grids", "网格数", "Grids"),
    ("staffing.handover", "网格交接", "Hand over a grid"),
    (
        "staffing.handover.help",
        "网格的未完成排查任务、待核查案件和其他在办案件随网格转给新网格员，历史记录新网格员可查。",
        "The grid's open campaign tasks, cases awaiting verification and other open cases move to the new worker with the grid; its history stays readable.",
    ),
    ("staffing.history", "变更记录", "History"),
    ("staffing.import", "批量导入账号", "Import accounts"),
    (
        "staffing.import.lead",
        "按模板填写账号（用户名、姓名、角色、行政区划、网格），整表校验：有任何一行有误则全部不导入。新账号的初始密码只显示一次。",
        "Fill in the template (username, name, role, regions, grids); the whole table is checked and nothing is written if any row is wrong. New accounts' initial passwords are shown once.",
    ),
    (
        "staffing.import.once",
        "初始密码只显示这一次，请立即下发或下载保存；系统不保存明文。",
        "Initial passwords are shown this once: hand them out or download them now; they are not stored in the clear.",
    ),
    ("staffing.import.result", "导入结果", "Result"),
    (
        "staffing.import.result_page",
        "在页面显示",
        "Show on the page",
    ),
    (
        "staffing.import.result_xlsx",
        "下载 Excel（含初始密码）",
        "Download Excel (with initial passwords)",
    ),
    ("staffing.kind.assign", "分配", "Assigned"),
    ("staffing.kind.handover", "交接", "Handover"),
    ("staffing.kind.vacate", "空缺", "Vacated"),
    (
        "staffing.lead",
        "一人一格：每个网格一名专职网格员和一名网格长；无网格员的网格标红。",
        "One worker per grid: each grid has one grid worker and a grid leader; grids without a worker are shown in red.",
    ),
    ("staffing.moved", "随网格转移", "Moved with the grid"),
    ("staffing.moved.open", "在办案件", "open cases"),
    ("staffing.moved.tasks", "排查任务", "campaign tasks"),
    ("staffing.moved.verify", "待核查", "awaiting verification"),
    ("staffing.none", "空缺", "Vacant"),
    ("staffing.note", "备注", "Note"),
    ("staffing.outcome", "结果", "Outcome"),
    ("staffing.password", "初始密码", "Initial password"),
    ("staffing.person", "人员", "Person"),
    ("staffing.post", "岗位", "Post"),
    ("staffing.post.leader", "网格长", "Grid leader"),
    ("staffing.post.worker", "网格员", "Grid worker"),
    ("staffing.regions", "下级区划", "Subdivisions"),
    ("staffing.role", "角色", "Role"),
    ("staffing.starts", "开始时间", "Starts"),
    ("staffing.status", "状态", "Status"),
    ("staffing.title", "网格配置", "Grid staffing"),
    ("staffing.to", "交给", "Hand over to"),
    (
        "staffing.truncated",
        "网格过多，只显示前一部分，请选择下级区划。",
        "Too many grids; only the first are shown. Choose a subdivision.",
    ),
    ("staffing.username", "用户名", "Username"),
    ("staffing.vacant", "空缺网格", "Vacant grids"),
    ("staffing.vacate", "（空缺）", "(vacate)"),
    ("staffing.village", "村（社区）", "Village"),
    ("stage.close", "结案", "Close"),
    ("stage.dispatch", "派遣", "Dispatch"),
    ("stage.handle", "处置", "Handle"),
    ("stage.register", "立案", "Register"),
    ("stage.verify", "核查", "Verify"),
    ("supervise.level", "督办级别", "Card"),
    ("tasks.due", "待检查场所", "Places to inspect"),
    ("tasks.hazards_opened", "生成隐患件", "Hazard cases opened"),
    (
        "tasks.map",
        "待检场所地图（点击前往检查）",
        "Places to inspect (tap one to inspect it)",
    ),
    ("tasks.nearest", "按距离排序", "Nearest first"),
    ("tasks.recheck", "待复查隐患", "Hazards to re-inspect"),
    ("tasks.saved", "检查已保存。", "Inspection saved."),
    ("tasks.title", "今日任务", "Today's tasks"),
    ("teams.add_hours", "登记服务时长", "Record service hours"),
    ("teams.add_member", "登记队员", "Register a member"),
    ("teams.applications", "报名审核", "Sign-ups"),
    ("teams.approve", "批准加入", "Approve"),
    ("teams.contact", "联络人账号", "Staff contact (username)"),
    ("teams.create", "新建队伍", "Create the team"),
    ("teams.decline", "不予通过", "Decline"),
    (
        "teams.decline_reason",
        "不通过的理由（报名人可见）",
        "Reason (the resident sees it)",
    ),
    ("teams.disbanded", "已解散", "Disbanded"),
    (
        "teams.grids",
        "网格（逗号分隔，可选）",
        "Grids (comma-separated, optional)",
    ),
    ("teams.joined", "加入日期", "Joined"),
    ("teams.kind", "队伍类型", "Kind"),
    ("teams.leader", "队长", "Leader"),
    ("teams.leave", "退出", "Leaves"),
    ("teams.left_on", "退出日期", "Date of leaving"),
    ("teams.members", "队员", "Members"),
    ("teams.name", "名称/姓名", "Name"),
    (
        "teams.new",
        "新建志愿者或巡防队伍",
        "New volunteer or patrol team",
    ),
    ("teams.phone", "手机号", "Phone"),
    ("teams.region", "区域代码", "Region code"),
    ("teams.reveal", "查看号码", "Reveal"),
    ("teams.reveal_reason", "查看理由", "Reason"),
    (
        "teams.revealed",
        "完整号码（已留痕）：",
        "Full number (logged):",
    ),
    ("teams.served_on", "服务日期", "Day of service"),
    ("teams.skills", "技能", "Skills"),
    ("teams.skills_note", "其他技能", "Other skills"),
    ("teams.title", "群防群治队伍", "Volunteer and patrol teams"),
    ("track.code", "查询码", "Tracking code"),
    ("track.comment", "意见（可选）", "Comment (optional)"),
    ("track.find", "查询", "Find"),
    (
        "track.keep_code",
        "请保存下面的查询码，用于查询进度和评价结果：",
        "Keep this tracking code to follow the case and rate the result:",
    ),
    (
        "track.not_found",
        "没有这个查询码对应的案件，请核对后重试。",
        "No case has this tracking code; check it and try again.",
    ),
    ("track.rate", "评价处理结果", "Rate the result"),
    (
        "track.rated",
        "感谢您的评价！",
        "Thank you for your rating!",
    ),
    ("track.score", "满意度", "Satisfaction"),
    (
        "track.staff_may_not_rate",
        "工作人员不能以群众身份评价。回访结果请在案件页面用“评价”操作记录。",
        "Staff do not rate as the resident. Record a call-back's answer with the rate action on the case page.",
    ),
    ("track.submit_rating", "提交评价", "Send rating"),
    ("track.thanks", "已收到您的反映", "We have your report"),
    ("track.timeline", "办理过程", "Timeline"),
    ("track.title", "进度查询", "Track a case"),
    ("unit.natural_days", "天", "days"),
    ("unit.natural_hours", "小时", "hours"),
    ("unit.working_days", "个工作日", "working days"),
    ("unit.working_hours", "个工作小时", "working hours"),
    ("urgency.emergency", "特急", "Emergency"),
    ("urgency.normal", "一般", "Normal"),
    ("urgency.urgent", "紧急", "Urgent"),
    ("verify.fail", "不通过（返工）", "Fail (rework)"),
    ("verify.pass", "通过", "Pass"),
    ("verify.result", "核查结果", "Result"),
    ("visits.address", "门牌", "Address"),
    (
        "visits.address_hint",
        "列表为本期尚未走访的门牌（按楼栋排序）；走访场所时填写场所标识。",
        "The list holds this period's doors not yet visited (by building); for a place of the register give its id instead.",
    ),
    (
        "visits.care_hint",
        "关爱走访只有本人、网格长和民政部门可见，到期自动删除，不进入任何导出。",
        "Care visits are seen only by you, the grid's leader and civil affairs, deleted after the retention period, and in no export.",
    ),
    ("visits.case_link", "已转事件", "Turned into a case"),
    ("visits.category", "事件类别编码", "Case category code"),
    ("visits.contact", "联系人", "Contact"),
    (
        "visits.contact_hint",
        "可不填；保存后脱敏显示，住户可申请删除。",
        "Optional; shown masked once saved; the resident may ask for it to be erased.",
    ),
    ("visits.contact_name", "姓名", "Name"),
    ("visits.contact_phone", "电话", "Phone"),
    ("visits.date", "走访日期", "Date of the visit"),
    ("visits.err.address_id", "门牌", "Address"),
    ("visits.err.building", "楼栋", "Building"),
    ("visits.err.case.category", "事件类别", "Case category"),
    (
        "visits.err.case.description",
        "事件描述",
        "Case description",
    ),
    ("visits.err.contact_name", "联系人姓名", "Contact name"),
    ("visits.err.contact_phone", "联系电话", "Contact phone"),
    ("visits.err.door", "门牌/室号", "Door number"),
    ("visits.err.grid_code", "网格", "Grid"),
    ("visits.err.kind", "走访类型", "Kind of visit"),
    ("visits.err.place_id", "场所", "Place"),
    ("visits.err.raised", "反映情况", "What was raised"),
    ("visits.err.visited_on", "走访日期", "Date of the visit"),
    ("visits.from_visit", "来自走访", "From a visit on"),
    ("visits.kind", "走访类型", "Kind of visit"),
    ("visits.place", "或场所标识", "Or a place id"),
    ("visits.raised", "反映情况", "What was raised"),
    ("visits.recent", "最近走访", "Recent visits"),
    ("visits.record", "记录走访", "Record a visit"),
    ("visits.saved", "走访已保存。", "The visit is saved."),
    ("visits.submit", "保存走访", "Save the visit"),
    ("visits.title", "走访", "Visits"),
    ("visits.to_case", "转为事件", "Turn into a case"),
    (
        "visits.to_case_check",
        "发现问题，转为事件上报",
        "A problem was found: report it as a case",
    ),
    ("visits.todo", "本期待走访", "Still to visit"),
    (
        "visits.todo_empty",
        "本期门牌已全部走访。",
        "Every address has been visited this period.",
    ),
    (
        "volunteer.any_team",
        "不指定队伍（按区域报名）",
        "No team in particular (sign up for an area)",
    ),
    ("volunteer.area", "报名区域代码", "Area (region code)"),
    ("volunteer.check", "查询", "Check"),
    ("volunteer.code", "报名查询码", "Reference code"),
    (
        "volunteer.consent",
        "我已阅读并同意上述说明",
        "I have read and agree to the above",
    ),
    (
        "volunteer.intro",
        "欢迎加入平安志愿者、巡防队、楼道长、好邻居等群防群治队伍。提交后由综治中心审核，请保存查询码。",
        "Join a safety volunteer, patrol, building captain or good neighbour team. The command center reviews your sign-up; keep the reference code.",
    ),
    (
        "volunteer.keep_code",
        "请保存查询码，凭码查询审核结果。",
        "Keep the reference code to check the result.",
    ),
    (
        "volunteer.no_such_code",
        "没有这个查询码",
        "No sign-up has this code",
    ),
    ("volunteer.reason", "说明：", "Reason:"),
    ("volunteer.status", "审核状态", "Status"),
    ("volunteer.status.approved", "已通过", "Approved"),
    ("volunteer.status.declined", "未通过", "Declined"),
    ("volunteer.status.pending", "待审核", "Waiting for review"),
    ("volunteer.submit", "提交报名", "Sign up"),
    ("volunteer.team", "想加入的队伍", "Team"),
    ("volunteer.title", "志愿者报名", "Volunteer sign-up"),
    ("worklog.active_days", "工作天数", "Days with work"),
    ("worklog.care_visits", "其中关爱走访", "Of them care visits"),
    ("worklog.day", "日期", "Day"),
    (
        "worklog.export",
        "导出月报 Excel",
        "Export the month (Excel)",
    ),
    ("worklog.inspections", "排查检查", "Inspections"),
    ("worklog.month", "月度汇总", "Monthly summary"),
    ("worklog.month_pick", "月份", "Month"),
    ("worklog.patrols", "巡防", "Patrols"),
    ("worklog.reported", "上报事件", "Cases reported"),
    ("worklog.title", "民情日志", "Work log"),
    ("worklog.today", "今日", "Today"),
    ("worklog.total", "合计", "Total"),
    ("worklog.verified", "核查事件", "Cases verified"),
    ("worklog.visits", "走访", "Visits"),
    ("worklog.week", "本周", "This week"),
    ("worklog.worker", "网格员", "Grid worker"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_unique_and_translated() {
        for w in STRINGS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} must come before {}", w[0].0, w[1].0);
        }
        for (k, zh, en) in STRINGS {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    /// Every `t("…")` of the templates and page code has its strings.
    #[test]
    fn every_key_in_use_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut texts = vec![];
        for e in std::fs::read_dir(dir).unwrap() {
            texts.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web");
        for e in std::fs::read_dir(src).unwrap() {
            texts.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        let mut missing = vec![];
        for text in &texts {
            for part in text.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if STRINGS.binary_search_by(|(k, _, _)| k.cmp(&key)).is_err() {
                    missing.push(key.to_string());
                }
            }
        }
        assert!(missing.is_empty(), "missing interface strings: {missing:?}");
        // Keys built at run time: every action of every workflow, every channel.
        for w in safegrid_domain::workflow::builtin().values() {
            for t in &w.transitions {
                assert_ne!(
                    Lang::Zh.t(&format!("action.{}", t.action)),
                    STRINGS_MISSING,
                    "{}",
                    t.action
                );
            }
        }
        for c in safegrid_domain::engine::CHANNELS {
            assert_ne!(Lang::En.t(&format!("channel.{c}")), STRINGS_MISSING, "{c}");
        }
    }

    #[test]
    fn limits_and_field_errors_read_naturally() {
        assert_eq!(Lang::Zh.limit("2 working_days"), "2 个工作日");
        assert_eq!(Lang::En.limit("6 natural_hours"), "6 hours");
        assert_eq!(
            Lang::Zh.field_error("category", "is required"),
            "请选择问题分类"
        );
        assert_eq!(
            Lang::En.field_error("category", "is required"),
            "Category: is required"
        );
        assert!(Lang::Zh.field_error("zzz", "odd").contains("odd"));
    }
}
