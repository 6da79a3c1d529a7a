import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Date (isoformat) */
  Date: { input: string; output: string; }
  /** Date with time (isoformat) */
  DateTime: { input: string; output: string; }
  /** The `JSON` scalar type represents JSON values as specified by [ECMA-404](https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf). */
  JSON: { input: unknown; output: unknown; }
  _Any: { input: unknown; output: unknown; }
  link__Import: { input: any; output: any; }
};

/** 受理（窗口受理新办件，或受理网上申报） */
export type AcceptCaseInput = {
  applicantIdNumber?: InputMaybe<Scalars['String']['input']>;
  applicantName?: InputMaybe<Scalars['String']['input']>;
  applicantPhone?: InputMaybe<Scalars['String']['input']>;
  centerCode?: InputMaybe<Scalars['String']['input']>;
  /** 幂等键：重复提交不会重复受理 */
  clientEventId?: InputMaybe<Scalars['String']['input']>;
  itemCode?: InputMaybe<Scalars['String']['input']>;
  number: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  staffCode?: InputMaybe<Scalars['String']['input']>;
  windowCode?: InputMaybe<Scalars['String']['input']>;
};

/** 问责建议处理情况计数：按处理种类或按部门 */
export type AccountabilityCount = {
  __typename?: 'AccountabilityCount';
  changed: Scalars['Int']['output'];
  confirmed: Scalars['Int']['output'];
  dismissed: Scalars['Int']['output'];
  /** 处理种类代码，或部门编号 */
  key: Maybe<Scalars['String']['output']>;
  /** 处理种类或部门名称 */
  label: Scalars['String']['output'];
  pending: Scalars['Int']['output'];
  revoked: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
  withdrawn: Scalars['Int']['output'];
};

/** 效能责任追究处理情况：本期提出的问责建议及其处理状态（公开部分不含姓名） */
export type AccountabilityHandling = {
  __typename?: 'AccountabilityHandling';
  byDepartment: Array<AccountabilityCount>;
  bySanction: Array<AccountabilityCount>;
  changed: Scalars['Int']['output'];
  confirmed: Scalars['Int']['output'];
  dismissed: Scalars['Int']['output'];
  pending: Scalars['Int']['output'];
  revoked: Scalars['Int']['output'];
  total: Scalars['Int']['output'];
  withdrawn: Scalars['Int']['output'];
};

/** 追究对象层级 */
export type AccountabilityLevel =
  | 'DEPARTMENT'
  | 'STAFF'
  | 'WINDOW';

/** 统计周期 */
export type AccountabilityPeriod =
  | 'MONTH'
  | 'QUARTER'
  | 'YEAR';

/** 效能责任追究规则：某层级对象在一个周期内某类差错达到次数 → 处理方式 */
export type AccountabilityRule = {
  __typename?: 'AccountabilityRule';
  active: Scalars['Boolean']['output'];
  /** 空：适用于所有中心 */
  centerId: Maybe<Scalars['ID']['output']>;
  createdAt: Scalars['DateTime']['output'];
  faultKinds: Array<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  period: AccountabilityPeriod;
  sanction: Sanction;
  sanctionLabel: Scalars['String']['output'];
  /** 公开处理情况时是否显示姓名 */
  showNames: Scalars['Boolean']['output'];
  subjectLevel: AccountabilityLevel;
  threshold: Scalars['Int']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

/** 效能责任追究规则 */
export type AccountabilityRuleInput = {
  /** 空：适用于所有中心 */
  centerId?: InputMaybe<Scalars['ID']['input']>;
  /** 差错类型代码；不存在的类型将被拒绝 */
  faultKinds: Array<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  period: AccountabilityPeriod;
  sanction: Sanction;
  showNames?: Scalars['Boolean']['input'];
  subjectLevel: AccountabilityLevel;
  threshold: Scalars['Int']['input'];
};

/** 责任追究建议：引用规则与证据，须经人工确认、改变或不予追究 */
export type AccountabilitySuggestion = {
  __typename?: 'AccountabilitySuggestion';
  createdAt: Scalars['DateTime']['output'];
  decidedAt: Maybe<Scalars['DateTime']['output']>;
  decidedBy: Maybe<Scalars['String']['output']>;
  department: Maybe<Department>;
  eventIds: Array<Scalars['Int']['output']>;
  /** 证据事件（账本原文） */
  evidenceEvents: Array<EvidenceEvent>;
  faultCount: Scalars['Int']['output'];
  /** 所依据的差错 */
  faults: Array<Fault>;
  id: Scalars['ID']['output'];
  period: Scalars['String']['output'];
  periodEnd: Scalars['DateTime']['output'];
  periodStart: Scalars['DateTime']['output'];
  reason: Maybe<Scalars['String']['output']>;
  /** 所依据的规则 */
  rule: Maybe<AccountabilityRule>;
  sanction: Sanction;
  sanctionLabel: Scalars['String']['output'];
  showNames: Scalars['Boolean']['output'];
  staff: Maybe<Staff>;
  status: SuggestionStatus;
  subjectId: Scalars['ID']['output'];
  subjectLevel: AccountabilityLevel;
  suggestedSanction: Sanction;
  window: Maybe<Window>;
};

/** 部门业务系统的 API 密钥（密钥本身只在创建时给出一次） */
export type ApiKey = {
  __typename?: 'ApiKey';
  createdAt: Scalars['DateTime']['output'];
  /** 所属部门 */
  department: Department;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  revokedAt: Maybe<Scalars['DateTime']['output']>;
};

/** 新建的 API 密钥 */
export type ApiKeyCreated = {
  __typename?: 'ApiKeyCreated';
  apiKey: ApiKey;
  /** 密钥本身：只显示这一次，请妥善保存 */
  key: Scalars['String']['output'];
};

/** 申诉：部门对差错认定或责任追究提出异议 */
export type Appeal = {
  __typename?: 'Appeal';
  decidedAt: Maybe<Scalars['DateTime']['output']>;
  decidedBy: Maybe<Scalars['String']['output']>;
  decisionReason: Maybe<Scalars['String']['output']>;
  department: Maybe<Department>;
  evidence: Array<Scalars['String']['output']>;
  filedAt: Scalars['DateTime']['output'];
  filedBy: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  reason: Scalars['String']['output'];
  staff: Maybe<Staff>;
  status: AppealStatus;
  subjectId: Scalars['ID']['output'];
  /** fault 差错 / suggestion 责任追究建议 */
  subjectType: Scalars['String']['output'];
  window: Maybe<Window>;
};

/** 申诉 */
export type AppealInput = {
  /** 证据：文件、链接、账本事件编号等 */
  evidence?: Array<Scalars['String']['input']>;
  reason: Scalars['String']['input'];
  subjectId: Scalars['ID']['input'];
  /** fault 差错 / suggestion 责任追究建议 */
  subjectType: Scalars['String']['input'];
};

/** 撤销、退回或提请上级 */
export type AppealOutcome =
  | 'ESCALATE'
  | 'REVOKE'
  | 'SEND_BACK';

/** 申诉状态 */
export type AppealStatus =
  | 'ESCALATED'
  | 'PENDING'
  | 'REVOKED'
  | 'SENT_BACK';

/** 登录结果 */
export type AuthPayload = {
  __typename?: 'AuthPayload';
  accessToken: Scalars['String']['output'];
  displayName: Scalars['String']['output'];
  /** 访问令牌有效秒数 */
  expiresIn: Scalars['Int']['output'];
  refreshToken: Scalars['String']['output'];
  role: Role;
};

/** 一条差评及其处理记录 */
export type BadRating = {
  __typename?: 'BadRating';
  caseNumber: Scalars['String']['output'];
  comment: Maybe<Scalars['String']['output']>;
  deemed: Scalars['Boolean']['output'];
  followUp: Maybe<FollowUp>;
  ratedAt: Scalars['DateTime']['output'];
  score: Scalars['Int']['output'];
  scoreLabel: Scalars['String']['output'];
};

/** 电子眼（窗口或大厅的摄像头） */
export type Camera = {
  __typename?: 'Camera';
  active: Scalars['Boolean']['output'];
  centerCode: Scalars['String']['output'];
  code: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  /** 大厅摄像头的位置 */
  location: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  /** 书签所指的录像（录像地址，或 HLS 实时流本身） */
  playbackUrl: Maybe<Scalars['String']['output']>;
  /** 录像播放列表（HLS，含 EXT-X-PROGRAM-DATE-TIME） */
  recordingUrl: Maybe<Scalars['String']['output']>;
  /** 录像保留天数 */
  retentionDays: Scalars['Int']['output'];
  /** 实时视频流（HLS .m3u8 或 RTSP） */
  streamUrl: Scalars['String']['output'];
  /** 所在窗口（大厅摄像头为空） */
  window: Maybe<Window>;
};

/** 摄像头（新建或修改） */
export type CameraInput = {
  active?: Scalars['Boolean']['input'];
  centerCode: Scalars['String']['input'];
  code: Scalars['String']['input'];
  location?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  recordingUrl?: InputMaybe<Scalars['String']['input']>;
  retentionDays?: Scalars['Int']['input'];
  streamUrl: Scalars['String']['input'];
  windowCode?: InputMaybe<Scalars['String']['input']>;
};

/** 办件 */
export type Case = {
  __typename?: 'Case';
  acceptedAt: Maybe<Scalars['DateTime']['output']>;
  /** 申请人证件号（按角色脱敏） */
  applicantIdNumber: Maybe<Scalars['String']['output']>;
  applicantName: Maybe<Scalars['String']['output']>;
  /** 申请人手机号（按角色脱敏） */
  applicantPhone: Maybe<Scalars['String']['output']>;
  center: Center;
  channel: Scalars['String']['output'];
  /** 办件计时（受理前为网上申报的受理期限） */
  clock: Maybe<ClockInfo>;
  /** 关于本办件的投诉和咨询 */
  complaints: Array<Complaint>;
  completedAt: Maybe<Scalars['DateTime']['output']>;
  /** 网上申报五日内未答复，依法视为受理 */
  deemedAccepted: Scalars['Boolean']['output'];
  department: Department;
  /** 办结期限 */
  dueAt: Maybe<Scalars['DateTime']['output']>;
  /** 好差评（办结后申请人的评价） */
  evaluation: Maybe<Evaluation>;
  extensionApprovedBy: Maybe<Scalars['String']['output']>;
  extensionDays: Scalars['Int']['output'];
  /** 本办件的差错（按角色限定范围；窗口人员仅见本人的） */
  faults: Array<Fault>;
  /** 账本中的全过程记录 */
  history: Array<LedgerEntry>;
  id: Scalars['ID']['output'];
  item: Item;
  /** 法定时限计时（受理起按事项法定时限计，补正、特别程序暂停，批准延期顺延；受理前为空） */
  legalClock: Maybe<ClockInfo>;
  /** 法定期限（行政许可法第四十二条，含批准的延期） */
  legalDueAt: Maybe<Scalars['DateTime']['output']>;
  /** 当前灯色 */
  light: Maybe<Light>;
  /** 关于本办件发出的短信和语音通知（号码脱敏） */
  notices: Array<Notice>;
  number: Scalars['String']['output'];
  /** 督办记录：反馈、升级层级、灯色、期限（工作人员可见） */
  orders: Array<SupervisionOrder>;
  /** 已超过法定时限（办结的按办结时，暂停的按暂停时） */
  overLegalLimit: Scalars['Boolean']['output'];
  reason: Maybe<Scalars['String']['output']>;
  reportedLate: Scalars['Boolean']['output'];
  result: Maybe<Scalars['String']['output']>;
  /** 在办环节 */
  runningSteps: Array<Step>;
  staff: Maybe<Staff>;
  status: CaseStatus;
  statusLabel: Scalars['String']['output'];
  /** 全部环节 */
  steps: Array<Step>;
  submittedAt: Maybe<Scalars['DateTime']['output']>;
  /** 全程监督：按时间排列的环节、暂停、催办、督办、反馈、通知等（工作人员可见） */
  timeline: Array<TimelineEntry>;
  /** 催办记录（工作人员可见） */
  urges: Array<Urge>;
  window: Maybe<Window>;
};

/** 办件事件 */
export type CaseAction =
  | 'ACCEPT'
  | 'ADVANCE'
  | 'COMPLETE'
  | 'EXTEND'
  | 'PREREVIEW_FAIL'
  | 'PREREVIEW_PASS'
  | 'REJECT'
  | 'REQUEST_SUPPLEMENT'
  | 'RESUME'
  | 'STEP'
  | 'SUBMIT'
  | 'SUPPLEMENT_RECEIVED'
  | 'SUSPEND'
  | 'WITHDRAW';

export type CaseConnection = {
  __typename?: 'CaseConnection';
  edges: Array<CaseEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type CaseEdge = {
  __typename?: 'CaseEdge';
  cursor: Scalars['String']['output'];
  node: Case;
};

/** 办件的一条事件（账本记录） */
export type CaseEventMessage = {
  __typename?: 'CaseEventMessage';
  /** 续订游标：断线后以 after 传回，不漏不重 */
  cursor: Scalars['String']['output'];
  data: Scalars['JSON']['output'];
  /** case.accept、case.advance、light.red … */
  kind: Scalars['String']['output'];
  late: Scalars['Boolean']['output'];
  /** 账本事件编号 */
  ledgerId: Scalars['Int']['output'];
  /** 报送方声称的发生时间 */
  occurredAt: Scalars['DateTime']['output'];
  /** 系统记录时间 */
  recordedAt: Scalars['DateTime']['output'];
  /** 此事件之后的办件状态 */
  status: CaseStatus;
};

/** 办件筛选 */
export type CaseFilter = {
  acceptedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  acceptedTo?: InputMaybe<Scalars['DateTime']['input']>;
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  channel?: InputMaybe<Scalars['String']['input']>;
  completedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  completedTo?: InputMaybe<Scalars['DateTime']['input']>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  dueFrom?: InputMaybe<Scalars['DateTime']['input']>;
  dueTo?: InputMaybe<Scalars['DateTime']['input']>;
  itemIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  lights?: InputMaybe<Array<LightFilter>>;
  /** 已超过法定时限（同 Case.overLegalLimit；总览的“超法定时限”为其中在办的） */
  overLegalLimit?: InputMaybe<Scalars['Boolean']['input']>;
  reportedLate?: InputMaybe<Scalars['Boolean']['input']>;
  staffIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  statuses?: InputMaybe<Array<CaseStatus>>;
  /** 办件编号前缀或申请人姓名 */
  text?: InputMaybe<Scalars['String']['input']>;
  windowIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** 办结结果：准予 / 不予 */
export type CaseResult =
  | 'APPROVED'
  | 'DENIED';

/** 办件状态 status of a case */
export type CaseStatus =
  | 'ACCEPTED'
  | 'COMPLETED'
  | 'PREREVIEWED'
  | 'PREREVIEW_FAILED'
  | 'REJECTED'
  | 'SUBMITTED'
  | 'SUPPLEMENT'
  | 'SUSPENDED'
  | 'WITHDRAWN';

/** 行政服务中心 */
export type Center = {
  __typename?: 'Center';
  code: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  level: CenterLevel;
  name: Scalars['String']['output'];
  /** 上级中心 */
  parent: Maybe<Center>;
};

/** 中心事项覆盖：进驻中心办理、纳入电子监察的事项数 */
export type CenterCoverage = {
  __typename?: 'CenterCoverage';
  centerCode: Scalars['String']['output'];
  centerId: Scalars['ID']['output'];
  centerName: Scalars['String']['output'];
  /** 进驻中心办理的事项数 */
  inCenter: Scalars['Int']['output'];
  /** 事项总数 */
  items: Scalars['Int']['output'];
  /** 纳入电子监察的事项数 */
  supervised: Scalars['Int']['output'];
};

/** 中心级别 */
export type CenterLevel =
  | 'CITY'
  | 'COUNTY'
  | 'DISTRICT'
  | 'TOWNSHIP';

/** 计时：期限、黄灯、红灯时刻与当前灯色 */
export type ClockInfo = {
  __typename?: 'ClockInfo';
  basis: Scalars['String']['output'];
  dueAt: Maybe<Scalars['DateTime']['output']>;
  extendedDays: Scalars['Int']['output'];
  finished: Scalars['Boolean']['output'];
  finishedAt: Maybe<Scalars['DateTime']['output']>;
  light: Light;
  limitDays: Scalars['Int']['output'];
  outcome: Maybe<Outcome>;
  /** 提前或超期的天数 */
  outcomeDays: Maybe<Scalars['Int']['output']>;
  paused: Scalars['Boolean']['output'];
  pausedDays: Scalars['Int']['output'];
  /** 期限所在年份尚无官方日历，按周末推算 */
  provisional: Scalars['Boolean']['output'];
  redAt: Maybe<Scalars['DateTime']['output']>;
  startedAt: Scalars['DateTime']['output'];
  yellowAt: Maybe<Scalars['DateTime']['output']>;
};

/** 县区的拒绝或最近一次送达失败 */
export type CommandError = {
  __typename?: 'CommandError';
  code: Scalars['String']['output'];
  message: Scalars['String']['output'];
};

/** 评标委员会成员 */
export type CommitteeMemberInput = {
  /** expert 专家 / tenderer 招标人代表 */
  kind?: Scalars['String']['input'];
  name: Scalars['String']['input'];
  specialty?: InputMaybe<Scalars['String']['input']>;
};

/** 投诉或咨询 */
export type Complaint = {
  __typename?: 'Complaint';
  answer: Maybe<Scalars['String']['output']>;
  answeredAt: Maybe<Scalars['DateTime']['output']>;
  assignedAt: Maybe<Scalars['DateTime']['output']>;
  /** 关联办件（无权查看的为空） */
  caseNumber: Maybe<Scalars['String']['output']>;
  /** 提及但未关联的办件编号（非本人办件） */
  caseNumberGiven: Maybe<Scalars['String']['output']>;
  center: Center;
  /** online 网上 / sms 短信 */
  channel: Scalars['String']['output'];
  complainantName: Maybe<Scalars['String']['output']>;
  /** 投诉人电话（按角色脱敏） */
  complainantPhone: Maybe<Scalars['String']['output']>;
  content: Scalars['String']['output'];
  /** 承办部门 */
  department: Maybe<Department>;
  /** 答复期限 */
  dueAt: Maybe<Scalars['DateTime']['output']>;
  filedAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  kind: ComplaintKind;
  kindLabel: Scalars['String']['output'];
  /** 当前灯色（已答复的为答复时的灯色） */
  light: Maybe<Light>;
  number: Scalars['String']['output'];
  /** 答复情况：按时 / 超期（未答复为空） */
  outcome: Maybe<Outcome>;
  status: ComplaintStatus;
  statusLabel: Scalars['String']['output'];
};

export type ComplaintConnection = {
  __typename?: 'ComplaintConnection';
  edges: Array<ComplaintEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ComplaintEdge = {
  __typename?: 'ComplaintEdge';
  cursor: Scalars['String']['output'];
  node: Complaint;
};

/** 投诉咨询筛选 */
export type ComplaintFilter = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  filedFrom?: InputMaybe<Scalars['DateTime']['input']>;
  filedTo?: InputMaybe<Scalars['DateTime']['input']>;
  kinds?: InputMaybe<Array<ComplaintKind>>;
  /** 未答复的按灯色 */
  lights?: InputMaybe<Array<ComplaintLight>>;
  /** 超期答复或逾期未答复 */
  overdue?: InputMaybe<Scalars['Boolean']['input']>;
  statuses?: InputMaybe<Array<ComplaintStatus>>;
};

/** 投诉 / 咨询 */
export type ComplaintKind =
  | 'COMPLAINT'
  | 'CONSULTATION';

/** 投诉咨询的灯色（未答复的） */
export type ComplaintLight =
  | 'RED'
  | 'WHITE'
  | 'YELLOW';

/** 待分派 / 办理中 / 已答复 */
export type ComplaintStatus =
  | 'ANSWERED'
  | 'ASSIGNED'
  | 'FILED';

/** 独立部署的县区及其账本副本 */
export type County = {
  __typename?: 'County';
  /** 县区中心在城市的编号（按中心筛选办件、统计） */
  centerId: Maybe<Scalars['ID']['output']>;
  code: Scalars['String']['output'];
  divergedAt: Maybe<Scalars['DateTime']['output']>;
  divergedDetail: Maybe<Scalars['String']['output']>;
  /** 县区账本与城市副本第一处不同的序号 */
  firstDivergedSequence: Maybe<Scalars['Int']['output']>;
  /** 距最近一次验证通过的拉取的秒数 */
  lagSeconds: Maybe<Scalars['Float']['output']>;
  /** 最近一次拉取失败的原因 */
  lastError: Maybe<Scalars['String']['output']>;
  /** 最新已验证签名树头的签署时间 */
  lastHeadAt: Maybe<Scalars['DateTime']['output']>;
  /** 最近一次验证通过的拉取时间 */
  lastPulledAt: Maybe<Scalars['DateTime']['output']>;
  /** 城市副本中已验证的事件数（各链之和） */
  lastSequence: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  /** LIVE 近期已拉取并验证；STALE 县区未应答，以副本作答；DIVERGED 县区账本与已验证的不一致，停止投影 */
  status: ReplicationStatus;
  url: Scalars['String']['output'];
};

/** 市级监察对县区部署办件的催办或督办：不在市级副本上执行，送达县区系统 */
export type CountyCommand = {
  __typename?: 'CountyCommand';
  /** 送达尝试次数 */
  attempts: Scalars['Int']['output'];
  caseNumber: Scalars['String']['output'];
  confirmedAt: Maybe<Scalars['DateTime']['output']>;
  /** 该事件在县区账本中的序号 */
  confirmedSeq: Maybe<Scalars['Int']['output']>;
  countyCode: Scalars['String']['output'];
  /** 县区系统中的催办单、督办单编号 */
  countyNumber: Maybe<Scalars['String']['output']>;
  deliveredAt: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  issuedAt: Scalars['DateTime']['output'];
  issuedBy: Scalars['String']['output'];
  kind: CountyCommandKind;
  lastError: Maybe<CommandError>;
  message: Scalars['String']['output'];
  /** 下次重试时间（待送达时） */
  nextAttemptAt: Maybe<Scalars['DateTime']['output']>;
  /** 市级编号（SJCB 催办 / SJDB 督办） */
  number: Scalars['String']['output'];
  /** 一句话说明发生了什么 */
  outcome: Scalars['String']['output'];
  repliedAt: Maybe<Scalars['DateTime']['output']>;
  reply: Maybe<Scalars['String']['output']>;
  replyDays: Scalars['Int']['output'];
  status: CountyCommandStatus;
  /** 中文状态 */
  statusText: Scalars['String']['output'];
};

export type CountyCommandConnection = {
  __typename?: 'CountyCommandConnection';
  edges: Array<CountyCommandEdge>;
  pageInfo: PageInfo;
};

export type CountyCommandEdge = {
  __typename?: 'CountyCommandEdge';
  cursor: Scalars['String']['output'];
  node: CountyCommand;
};

/** 对县区部署办件的催办或督办 */
export type CountyCommandInput = {
  caseNumber: Scalars['String']['input'];
  /** URGE 催办 / ORDER 督办 */
  kind?: CountyCommandKind;
  /** 催办或督办内容 */
  message?: Scalars['String']['input'];
  /** 反馈期限（工作日） */
  replyDays?: Scalars['Int']['input'];
};

/** 对县区办件的监督指令 */
export type CountyCommandKind =
  | 'ORDER'
  | 'URGE';

/** 送达县区的进度 */
export type CountyCommandStatus =
  | 'CONFIRMED'
  | 'DELIVERED'
  | 'QUEUED'
  | 'REFUSED'
  | 'REPLIED';

/** 新建工作人员账号（中心管理员只能建本中心的账号） */
export type CreateAccountInput = {
  /** 中心编码（监察人员以外必填） */
  centerCode?: InputMaybe<Scalars['String']['input']>;
  /** 部门编码（部门领导必填） */
  departmentCode?: InputMaybe<Scalars['String']['input']>;
  displayName?: InputMaybe<Scalars['String']['input']>;
  /** 至少 10 个字符，含字母、数字、符号中的两类，不含用户名 */
  password: Scalars['String']['input'];
  role: Role;
  username: Scalars['String']['input'];
  /** 窗口编码（窗口工作人员必填） */
  windowCode?: InputMaybe<Scalars['String']['input']>;
};

/** 工作日或自然日 */
export type DayBasis =
  | 'NATURAL'
  | 'WORKING';

/** 部门、委办局 */
export type Department = {
  __typename?: 'Department';
  center: Center;
  code: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
};

/** 部门在办件灯色（发布时） */
export type DepartmentLights = {
  __typename?: 'DepartmentLights';
  departmentId: Scalars['ID']['output'];
  name: Scalars['String']['output'];
  paused: Scalars['Int']['output'];
  red: Scalars['Int']['output'];
  white: Scalars['Int']['output'];
  yellow: Scalars['Int']['output'];
};

/** 好差评：申请人对办结办件的评价 */
export type Evaluation = {
  __typename?: 'Evaluation';
  /** portal 网上 / sms 短信 / deemed 默认 */
  channel: Scalars['String']['output'];
  comment: Maybe<Scalars['String']['output']>;
  /** 评价期内未评价，视为基本满意 */
  deemed: Scalars['Boolean']['output'];
  /** 差评的处理记录（工作人员可见） */
  followUp: Maybe<FollowUp>;
  ratedAt: Scalars['DateTime']['output'];
  /** 1 非常不满意 … 5 非常满意 */
  score: Scalars['Int']['output'];
  scoreLabel: Scalars['String']['output'];
};

/** 好差评汇总：各评分数量、好评率，并列出每条差评及其核实整改回访记录 */
export type EvaluationSummary = {
  __typename?: 'EvaluationSummary';
  average: Maybe<Scalars['Float']['output']>;
  /** 差评（不满意、非常不满意） */
  bad: Scalars['Int']['output'];
  badRatings: Array<BadRating>;
  byScore: Array<ScoreCount>;
  /** 逾期未评、视为基本满意的数量 */
  deemed: Scalars['Int']['output'];
  followUpsClosed: Scalars['Int']['output'];
  followUpsOpen: Scalars['Int']['output'];
  followUpsOverdue: Scalars['Int']['output'];
  from: Scalars['DateTime']['output'];
  /** 好评（基本满意及以上） */
  praise: Scalars['Int']['output'];
  /** 好评率；须与差评处理记录一并看 */
  praiseRate: Maybe<Scalars['Float']['output']>;
  /** 回访后满意的差评数 */
  revisitSatisfied: Scalars['Int']['output'];
  to: Scalars['DateTime']['output'];
  total: Scalars['Int']['output'];
};

/** 一条报送事件的结果 */
export type EventResult = {
  __typename?: 'EventResult';
  code: Maybe<Scalars['String']['output']>;
  late: Scalars['Boolean']['output'];
  ledgerId: Maybe<Scalars['Int']['output']>;
  message: Maybe<Scalars['String']['output']>;
  sourceEventId: Scalars['String']['output'];
  /** accepted 已接收 / duplicate 重复（未重复应用）/ refused 拒收 */
  status: Scalars['String']['output'];
};

/** 证据：账本中的一条事件 */
export type EvidenceEvent = {
  __typename?: 'EvidenceEvent';
  actor: Maybe<Scalars['String']['output']>;
  data: Scalars['JSON']['output'];
  id: Scalars['Int']['output'];
  kind: Scalars['String']['output'];
  occurredAt: Scalars['DateTime']['output'];
  recordedAt: Scalars['DateTime']['output'];
};

/** 差错：时效、程序或作风问题，附账本证据 */
export type Fault = {
  __typename?: 'Fault';
  /** 所涉办件编号 */
  caseNumber: Maybe<Scalars['String']['output']>;
  category: FaultCategory;
  centerId: Scalars['ID']['output'];
  department: Maybe<Department>;
  description: Scalars['String']['output'];
  /** 证明该差错的账本事件编号 */
  eventIds: Array<Scalars['Int']['output']>;
  /** 证据摘要，如超期天数、法律条款 */
  evidence: Scalars['JSON']['output'];
  /** 证据事件（账本原文） */
  evidenceEvents: Array<EvidenceEvent>;
  id: Scalars['ID']['output'];
  /** 差错类型代码，见 faultKinds */
  kind: Scalars['String']['output'];
  kindLabel: Scalars['String']['output'];
  occurredAt: Scalars['DateTime']['output'];
  recordedAt: Scalars['DateTime']['output'];
  recordedBy: Maybe<Scalars['String']['output']>;
  /** derived 由账本推导 / recorded 监察人员录入 */
  source: Scalars['String']['output'];
  staff: Maybe<Staff>;
  status: FaultStatus;
  subjectId: Scalars['ID']['output'];
  subjectType: Scalars['String']['output'];
  window: Maybe<Window>;
};

/** 差错类别：时效、程序、作风 */
export type FaultCategory =
  | 'CONDUCT'
  | 'PROCESS'
  | 'TIMELINESS';

export type FaultConnection = {
  __typename?: 'FaultConnection';
  edges: Array<FaultEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type FaultEdge = {
  __typename?: 'FaultEdge';
  cursor: Scalars['String']['output'];
  node: Fault;
};

/** 差错筛选；period 为 2026、2026-Q4 或 2026-11，或以 occurredFrom / occurredTo 指定 */
export type FaultFilter = {
  categories?: InputMaybe<Array<FaultCategory>>;
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  kinds?: InputMaybe<Array<Scalars['String']['input']>>;
  occurredFrom?: InputMaybe<Scalars['DateTime']['input']>;
  occurredTo?: InputMaybe<Scalars['DateTime']['input']>;
  period?: InputMaybe<Scalars['String']['input']>;
  staffIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  statuses?: InputMaybe<Array<FaultStatus>>;
  windowIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** 差错类型 */
export type FaultKindInfo = {
  __typename?: 'FaultKindInfo';
  category: FaultCategory;
  code: Scalars['String']['output'];
  label: Scalars['String']['output'];
};

/** 差错状态（撤销的不再计入统计） */
export type FaultStatus =
  | 'ACTIVE'
  | 'APPEALED'
  | 'CONFIRMED'
  | 'REVOKED';

/** 差评的核实、整改、回访 */
export type FollowUp = {
  __typename?: 'FollowUp';
  closedAt: Maybe<Scalars['DateTime']['output']>;
  /** 承办部门 */
  department: Department;
  /** 办理期限 */
  dueAt: Maybe<Scalars['DateTime']['output']>;
  /** 当前灯色（已办结的为办结时的灯色） */
  light: Maybe<Light>;
  openedAt: Scalars['DateTime']['output'];
  /** 办结情况：提前 / 按时 / 超期（未办结为空） */
  outcome: Maybe<Outcome>;
  /** 超期：办结晚于期限，或逾期未办结 */
  overdue: Scalars['Boolean']['output'];
  records: Array<FollowUpRecord>;
  revisitSatisfied: Maybe<Scalars['Boolean']['output']>;
  score: Scalars['Int']['output'];
  /** 下一步应做的环节；已办结为 CLOSED */
  stage: FollowUpStage;
  stageLabel: Scalars['String']['output'];
};

/** 差评处理的一条记录 */
export type FollowUpRecord = {
  __typename?: 'FollowUpRecord';
  actor: Maybe<Scalars['String']['output']>;
  at: Scalars['DateTime']['output'];
  label: Scalars['String']['output'];
  note: Scalars['String']['output'];
  /** 回访时申请人是否满意 */
  satisfied: Maybe<Scalars['Boolean']['output']>;
  stage: FollowUpStage;
};

/** 差评处理环节：核实 / 整改 / 回访 / 已办结 */
export type FollowUpStage =
  | 'CLOSED'
  | 'RECTIFY'
  | 'REVISIT'
  | 'VERIFY';

/** 审批事项 */
export type Item = {
  __typename?: 'Item';
  basis: DayBasis;
  code: Scalars['String']['output'];
  committedDays: Scalars['Int']['output'];
  department: Department;
  extensionDays: Scalars['Int']['output'];
  /** 收费标准及依据；空为免费 */
  fee: Scalars['JSON']['output'];
  id: Scalars['ID']['output'];
  inCenter: Scalars['Boolean']['output'];
  joint: Scalars['Boolean']['output'];
  kind: ItemKind;
  legalBasis: Maybe<Scalars['String']['output']>;
  legalDays: Scalars['Int']['output'];
  materials: Array<Material>;
  name: Scalars['String']['output'];
  steps: Array<ItemStepType>;
  supervised: Scalars['Boolean']['output'];
  warnFraction: Scalars['Float']['output'];
  warnMinDays: Scalars['Int']['output'];
};

export type ItemConnection = {
  __typename?: 'ItemConnection';
  edges: Array<ItemEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type ItemEdge = {
  __typename?: 'ItemEdge';
  cursor: Scalars['String']['output'];
  node: Item;
};

/** 事项筛选 */
export type ItemFilter = {
  centerCode?: InputMaybe<Scalars['String']['input']>;
  departmentCode?: InputMaybe<Scalars['String']['input']>;
  inCenter?: InputMaybe<Scalars['Boolean']['input']>;
  kind?: InputMaybe<ItemKind>;
  supervised?: InputMaybe<Scalars['Boolean']['input']>;
  /** 编码或名称包含 */
  text?: InputMaybe<Scalars['String']['input']>;
};

/** 新建审批事项 */
export type ItemInput = {
  basis?: DayBasis;
  centerCode: Scalars['String']['input'];
  coDepartmentCodes?: Array<Scalars['String']['input']>;
  code: Scalars['String']['input'];
  committedDays: Scalars['Int']['input'];
  departmentCode: Scalars['String']['input'];
  extensionDays?: InputMaybe<Scalars['Int']['input']>;
  fee?: InputMaybe<Scalars['JSON']['input']>;
  inCenter?: Scalars['Boolean']['input'];
  joint?: Scalars['Boolean']['input'];
  kind?: ItemKind;
  legalBasis?: InputMaybe<Scalars['String']['input']>;
  legalDays: Scalars['Int']['input'];
  materials?: Array<MaterialInput>;
  name: Scalars['String']['input'];
  steps?: Array<StepInput>;
  supervised?: Scalars['Boolean']['input'];
  warnFraction?: Scalars['Float']['input'];
  warnMinDays?: Scalars['Int']['input'];
};

/** 事项类型 */
export type ItemKind =
  | 'LICENCE'
  | 'NON_LICENCE'
  | 'PUBLIC_SERVICE';

/** 事项环节的实时报送覆盖 */
export type ItemReporting = {
  __typename?: 'ItemReporting';
  /** 期间内该事项办件的全部事件数 */
  events: Scalars['Int']['output'];
  itemCode: Scalars['String']['output'];
  itemId: Scalars['ID']['output'];
  itemName: Scalars['String']['output'];
  /** 其中实时报送的事件数 */
  realtimeEvents: Scalars['Int']['output'];
  /** 全部实时报送的环节数 */
  realtimeSteps: Scalars['Int']['output'];
  steps: Array<StepReporting>;
};

/** 办理环节及其时限 */
export type ItemStepType = {
  __typename?: 'ItemStepType';
  limitDays: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  seq: Scalars['Int']['output'];
};

/** 账本校验告警 */
export type LedgerBreachAlert = {
  __typename?: 'LedgerBreachAlert';
  breaches: Array<LedgerBreachItem>;
  detectedAt: Scalars['DateTime']['output'];
  differences: Array<ProjectionDifferenceItem>;
  /** 见证方保存的告警记录名 */
  witnessRecord: Maybe<Scalars['String']['output']>;
};

/** 账本中的一处篡改，以受影响的第一条序号指明 */
export type LedgerBreachItem = {
  __typename?: 'LedgerBreachItem';
  center: Maybe<Scalars['String']['output']>;
  centerId: Scalars['ID']['output'];
  detail: Scalars['String']['output'];
  eventId: Maybe<Scalars['Int']['output']>;
  /** altered / deleted / reordered / inserted / rewritten / checkpoint / tree */
  kind: Scalars['String']['output'];
  /** 受影响的第一条序号 the first seq affected */
  seq: Scalars['Int']['output'];
};

/** 账本中的一条事件 */
export type LedgerEntry = {
  __typename?: 'LedgerEntry';
  actor: Maybe<Scalars['String']['output']>;
  data: Scalars['JSON']['output'];
  id: Scalars['Int']['output'];
  kind: Scalars['String']['output'];
  /** 记录时间与发生时间之差（秒）；大者为迟报、补录 */
  lagSeconds: Scalars['Float']['output'];
  late: Scalars['Boolean']['output'];
  /** 报送方声称的发生时间 */
  occurredAt: Scalars['DateTime']['output'];
  /** 系统记录时间 */
  recordedAt: Scalars['DateTime']['output'];
  seq: Scalars['Int']['output'];
  source: Maybe<Scalars['String']['output']>;
};

/** 红黄白灯 the light of a clock */
export type Light =
  | 'RED'
  | 'WHITE'
  | 'YELLOW';

/** 灯色变化（计时到达黄灯或红灯时刻时发布） */
export type LightChange = {
  __typename?: 'LightChange';
  /** 发布时刻 */
  announcedAt: Scalars['DateTime']['output'];
  /** 所属办件（在查看范围内时） */
  case: Maybe<Case>;
  centerId: Scalars['ID']['output'];
  /** 续订游标：断线后以 after 传回，不漏不重 */
  cursor: Scalars['String']['output'];
  departmentId: Maybe<Scalars['ID']['output']>;
  /** 灯色变化的应到时刻 */
  dueInstant: Maybe<Scalars['DateTime']['output']>;
  label: Scalars['String']['output'];
  /** 账本事件编号 */
  ledgerId: Scalars['Int']['output'];
  light: Light;
  /** 办件编号；公众不可见 */
  number: Maybe<Scalars['String']['output']>;
  previous: Maybe<Light>;
  /** 公众不可见 */
  subjectId: Maybe<Scalars['ID']['output']>;
  /** case 办件、step 环节、acceptance 受理期限、legal_limit 法定时限 … */
  subjectType: Scalars['String']['output'];
  /** 公众不可见 */
  windowId: Maybe<Scalars['ID']['output']>;
};

/** 灯色变化订阅的筛选（按计时所在的中心、部门、窗口） */
export type LightChangeFilter = {
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  lights?: InputMaybe<Array<Light>>;
  /** case 办件、step 环节、acceptance 受理期限、legal_limit 法定时限 … */
  subjectTypes?: InputMaybe<Array<Scalars['String']['input']>>;
  windowIds?: InputMaybe<Array<Scalars['ID']['input']>>;
};

/** 灯色统计 */
export type LightCounts = {
  __typename?: 'LightCounts';
  paused: Scalars['Int']['output'];
  red: Scalars['Int']['output'];
  white: Scalars['Int']['output'];
  yellow: Scalars['Int']['output'];
};

/** 筛选用的灯色，PAUSED 为暂停计时中 */
export type LightFilter =
  | 'PAUSED'
  | 'RED'
  | 'WHITE'
  | 'YELLOW';

/** 验证码已发送 */
export type LoginCodeSent = {
  __typename?: 'LoginCodeSent';
  /** 验证码有效秒数 */
  expiresIn: Scalars['Int']['output'];
  /** 接收手机号（脱敏） */
  sentTo: Scalars['String']['output'];
};

/** 标段 */
export type LotInput = {
  ceilingPrice?: InputMaybe<Scalars['Float']['input']>;
  code: Scalars['String']['input'];
  estimate: Scalars['Float']['input'];
  name: Scalars['String']['input'];
};

/** 申请材料 */
export type Material = {
  __typename?: 'Material';
  copies: Scalars['Int']['output'];
  formUrl: Maybe<Scalars['String']['output']>;
  name: Scalars['String']['output'];
  required: Scalars['Boolean']['output'];
};

export type MaterialInput = {
  copies?: Scalars['Int']['input'];
  formUrl?: InputMaybe<Scalars['String']['input']>;
  name: Scalars['String']['input'];
  required?: Scalars['Boolean']['input'];
};

/** 当前用户 */
export type Me = {
  __typename?: 'Me';
  centerId: Maybe<Scalars['ID']['output']>;
  departmentId: Maybe<Scalars['ID']['output']>;
  /** 本人（工作人员）收到的短信、语音通知，最新在前 */
  notices: Array<Notice>;
  /** 申请人本人的手机号 */
  phone: Maybe<Scalars['String']['output']>;
  role: Role;
  username: Maybe<Scalars['String']['output']>;
  windowId: Maybe<Scalars['ID']['output']>;
};


/** 当前用户 */
export type MeNoticesArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type Mutation = {
  __typename?: 'Mutation';
  /** 受理（开始办件计时） */
  acceptCase: Case;
  /** 受理或不予受理投诉（3 个工作日内，条例 61）；可责令暂停 */
  acceptComplaint: Tender;
  /** 办结一个在办环节，进入下一环节 */
  advanceCase: Case;
  /** 澄清或者修改招标文件；不足 15 日的顺延投标截止（法 23、条例 21） */
  amendTender: Tender;
  /** 答复投诉咨询（停止计时，答复以短信发给投诉人） */
  answerComplaint: Complaint;
  /** 答复异议（3 日内） */
  answerObjection: Tender;
  /** 申诉（部门领导）：对本部门的差错认定或责任追究提出异议并附证据 */
  appeal: Appeal;
  /** 分派投诉咨询到部门（监察、中心管理） */
  assignComplaint: Complaint;
  /** 确定中标人并发出中标通知书（国有资金控股的为排名第一者，条例 55） */
  awardTender: Tender;
  /** 办结（准予或不予） */
  completeCase: Case;
  /** 新建工作人员账号 */
  createAccount: StaffAccount;
  /** 新建效能责任追究规则（监察人员）；引用不存在的差错类型将被拒绝 */
  createAccountabilityRule: AccountabilityRule;
  /** 为部门业务系统新建 API 密钥（监察或本中心管理员）；密钥只返回这一次 */
  createApiKey: ApiKeyCreated;
  /** 新建摄像头（中心管理员限本中心） */
  createCamera: Camera;
  /** 新建中心（监察） */
  createCenter: Center;
  /** 新建部门 */
  createDepartment: Department;
  /** 新建审批事项 */
  createItem: Item;
  /** 新建自动规则 */
  createSupervisionRule: SupervisionRule;
  /** 处理申诉（监察人员）：撤销、退回或提请上级；撤销的差错不再计入统计 */
  decideAppeal: Appeal;
  /** 作出投诉处理决定（30 个工作日内，条例 61） */
  decideComplaint: Tender;
  /** 处理责任追究建议：确认、改变（另选处理方式并说明理由）或不予追究（说明理由） */
  decideSuggestion: AccountabilitySuggestion;
  /** 对全部账本重新推导差错（导入历史后使用）；已有差错不重复；返回新增条数 */
  deriveFaults: Scalars['Int']['output'];
  /** 停用账号：不能再登录，已发的访问令牌和刷新令牌立即失效 */
  disableAccount: StaffAccount;
  /** 停用自动规则 */
  disableSupervisionRule: SupervisionRule;
  /** 重新启用账号 */
  enableAccount: StaffAccount;
  /** 延期（须负责人批准，法定只可一次） */
  extendCase: Case;
  /** 流标或终止招标 */
  failTender: Tender;
  /** 投诉（知道之日起 10 日内，条例 60） */
  fileComplaint: Tender;
  /** 向行政监督部门提交书面报告（15 日内，法 47） */
  fileTenderReport: Tender;
  /** 组建评标委员会（5 人以上单数，专家不少于三分之二，法 37） */
  formCommittee: Tender;
  /** 督办：限期反馈（工作日），短信并语音通知；逾期未反馈逐级升级 */
  issueSupervisionOrder: SupervisionOrder;
  /** 工作人员用户名密码登录 */
  login: AuthPayload;
  /** 申请人以手机号和短信验证码登录（只能查看本人办件） */
  loginWithCode: AuthPayload;
  /** 把录像中的某一时刻标记为差错或办件的证据 */
  markVideoEvidence: VideoEvidence;
  /** 提出异议（暂停招标投标活动，条例 22、44、54） */
  objectToTender: Tender;
  /** 开标（投标截止时刻，不少于 3 个投标人，法 34、条例 44） */
  openBids: Tender;
  /** 资格预审完成，向合格申请人发出投标邀请 */
  prequalifyTender: Tender;
  /** 预审 */
  prereviewCase: Case;
  /** 公示中标候选人（3 日内公示，公示期不少于 3 日，条例 54） */
  publishCandidates: Tender;
  /** 发布效能报告（监察部门；中心管理限本中心）：公开汇总数据，向领导和各窗口发送短信；同一期间重复发布无效果 */
  publishReport: PublishReportResult;
  /** 发布招标公告并发售文件（条例 16、17，法 24） */
  publishTender: Tender;
  /** 申请人评价本人已办结的办件（1–5 分，可附意见；每件一次） */
  rateCase: Evaluation;
  /** 补正材料收到（恢复计时） */
  receiveSupplement: Case;
  /** 录入差错（监察人员） */
  recordFault: Fault;
  /** 记录差评处理：核实、整改、回访（依次，回访须记录是否满意） */
  recordFollowUp: FollowUp;
  /** 用刷新令牌换取新的访问令牌（刷新令牌随之更换） */
  refresh: AuthPayload;
  /** 退件 / 不予受理 */
  rejectCase: Case;
  /** 督办反馈：只限被督办人（或其部门领导；升级到中心后为中心管理员） */
  replyToOrder: SupervisionOrder;
  /** 催办反馈（被催办人或其部门领导） */
  replyToUrge: Urge;
  /** 部门业务系统报送办件事件（API 密钥）；按事件逐条返回结果，按来源事件编号幂等 */
  reportCaseEvents: Array<EventResult>;
  /** 提交评标报告：排序的中标候选人（至多 3 名）与被否决的投标 */
  reportEvaluation: Tender;
  /** 交易中心系统报送招投标事件（API 密钥）；按事件逐条返回结果，按来源事件编号幂等 */
  reportTenderEvents: Array<EventResult>;
  /** 申请人获取短信登录验证码（6 位，5 分钟内有效，一次有效） */
  requestLoginCode: LoginCodeSent;
  /** 补正告知（暂停计时）：须一次性列明需要补正的全部材料和原因（行政许可法第三十二条），缺一则拒绝（SUPPLEMENT_INCOMPLETE） */
  requestSupplement: Case;
  /** 特别程序结束（恢复计时） */
  resumeCase: Case;
  /** 退还投标保证金（合同签订后 5 日内，条例 57） */
  returnBonds: Tender;
  /** 吊销 API 密钥：此后用它的请求一律拒绝 */
  revokeApiKey: ApiKey;
  /** 重设账号密码（其刷新令牌随之吊销） */
  setAccountPassword: StaffAccount;
  /** 停用（或重新启用）规则；停用的规则不再产生建议，已有建议保留 */
  setAccountabilityRuleActive: AccountabilityRule;
  /** 订立合同（30 日内，法 46；履约保证金不超过 10%，条例 58） */
  signContract: Tender;
  /** 递交投标文件（截止后拒收，法 28；保证金不超过估算价 2%，条例 26） */
  submitBid: Tender;
  /** 网上申报（开始五个工作日的受理期限） */
  submitCase: Case;
  /** 提交投诉或咨询（开始答复计时；答复以短信发送） */
  submitComplaint: Complaint;
  /** 催办或督办县区部署的办件：登记后送达县区系统执行（市级副本只读，不在此执行）；县区暂不可达时按退避重试，县区只执行一次 */
  superviseCountyCase: CountyCommand;
  /** 进入特别程序（暂停计时） */
  suspendCase: Case;
  /** 任一阶段事件（属性同 reportTenderEvents） */
  tenderEvent: Tender;
  /** 修改效能责任追究规则（已产生的建议不变） */
  updateAccountabilityRule: AccountabilityRule;
  /** 修改摄像头（含停用）；编码不变 */
  updateCamera: Camera;
  /** 修改自动规则（enabled 可启用或停用） */
  updateSupervisionRule: SupervisionRule;
  /** 催办（办件、环节、窗口、部门或招投标阶段）；已结束的办件不能催办 */
  urge: Urge;
  /** 撤回投标文件（截止前） */
  withdrawBid: Tender;
  /** 撤回 */
  withdrawCase: Case;
};


export type MutationAcceptCaseArgs = {
  input: AcceptCaseInput;
};


export type MutationAcceptComplaintArgs = {
  accepted: Scalars['Boolean']['input'];
  code: Scalars['String']['input'];
  number?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  reason?: InputMaybe<Scalars['String']['input']>;
  suspend?: Scalars['Boolean']['input'];
};


export type MutationAdvanceCaseArgs = {
  departmentCode?: InputMaybe<Scalars['String']['input']>;
  number: Scalars['String']['input'];
  staffCode?: InputMaybe<Scalars['String']['input']>;
  stepName?: InputMaybe<Scalars['String']['input']>;
};


export type MutationAmendTenderArgs = {
  affectsPreparation?: Scalars['Boolean']['input'];
  code: Scalars['String']['input'];
  newDeadline?: InputMaybe<Scalars['DateTime']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  summary: Scalars['String']['input'];
};


export type MutationAnswerComplaintArgs = {
  answer: Scalars['String']['input'];
  number: Scalars['String']['input'];
};


export type MutationAnswerObjectionArgs = {
  answer: Scalars['String']['input'];
  code: Scalars['String']['input'];
  number?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationAppealArgs = {
  input: AppealInput;
};


export type MutationAssignComplaintArgs = {
  departmentId: Scalars['ID']['input'];
  number: Scalars['String']['input'];
};


export type MutationAwardTenderArgs = {
  bidderCode: Scalars['String']['input'];
  code: Scalars['String']['input'];
  declined?: InputMaybe<Array<Scalars['String']['input']>>;
  lot?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationCompleteCaseArgs = {
  number: Scalars['String']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
  result: CaseResult;
};


export type MutationCreateAccountArgs = {
  input: CreateAccountInput;
};


export type MutationCreateAccountabilityRuleArgs = {
  input: AccountabilityRuleInput;
};


export type MutationCreateApiKeyArgs = {
  departmentId: Scalars['ID']['input'];
  name: Scalars['String']['input'];
};


export type MutationCreateCameraArgs = {
  input: CameraInput;
};


export type MutationCreateCenterArgs = {
  code: Scalars['String']['input'];
  level: CenterLevel;
  name: Scalars['String']['input'];
  parentCode?: InputMaybe<Scalars['String']['input']>;
};


export type MutationCreateDepartmentArgs = {
  centerCode: Scalars['String']['input'];
  code: Scalars['String']['input'];
  name: Scalars['String']['input'];
};


export type MutationCreateItemArgs = {
  input: ItemInput;
};


export type MutationCreateSupervisionRuleArgs = {
  input: SupervisionRuleInput;
};


export type MutationDecideAppealArgs = {
  id: Scalars['ID']['input'];
  outcome: AppealOutcome;
  reason: Scalars['String']['input'];
};


export type MutationDecideComplaintArgs = {
  code: Scalars['String']['input'];
  decision: Scalars['String']['input'];
  number?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationDecideSuggestionArgs = {
  decision: SuggestionDecision;
  id: Scalars['ID']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
  sanction?: InputMaybe<Sanction>;
};


export type MutationDisableAccountArgs = {
  username: Scalars['String']['input'];
};


export type MutationDisableSupervisionRuleArgs = {
  id: Scalars['ID']['input'];
};


export type MutationEnableAccountArgs = {
  username: Scalars['String']['input'];
};


export type MutationExtendCaseArgs = {
  approvedBy: Scalars['String']['input'];
  days: Scalars['Int']['input'];
  number: Scalars['String']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationFailTenderArgs = {
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  reason: Scalars['String']['input'];
};


export type MutationFileComplaintArgs = {
  about?: Scalars['String']['input'];
  code: Scalars['String']['input'];
  knewAt: Scalars['DateTime']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  party: Scalars['String']['input'];
};


export type MutationFileTenderReportArgs = {
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationFormCommitteeArgs = {
  code: Scalars['String']['input'];
  members: Array<CommitteeMemberInput>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationIssueSupervisionOrderArgs = {
  input: SupervisionOrderInput;
};


export type MutationLoginArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationLoginWithCodeArgs = {
  code: Scalars['String']['input'];
  phone: Scalars['String']['input'];
};


export type MutationMarkVideoEvidenceArgs = {
  input: VideoEvidenceInput;
};


export type MutationObjectToTenderArgs = {
  about: Scalars['String']['input'];
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  party: Scalars['String']['input'];
};


export type MutationOpenBidsArgs = {
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationPrequalifyTenderArgs = {
  bidDeadline: Scalars['DateTime']['input'];
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  qualified: Array<Scalars['String']['input']>;
};


export type MutationPrereviewCaseArgs = {
  number: Scalars['String']['input'];
  passed: Scalars['Boolean']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationPublishCandidatesArgs = {
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  publicityEnd: Scalars['DateTime']['input'];
};


export type MutationPublishReportArgs = {
  centerId: Scalars['ID']['input'];
  periodFrom: Scalars['Date']['input'];
  periodTo: Scalars['Date']['input'];
};


export type MutationPublishTenderArgs = {
  input: PublishTenderInput;
};


export type MutationRateCaseArgs = {
  comment?: InputMaybe<Scalars['String']['input']>;
  number: Scalars['String']['input'];
  score: Scalars['Int']['input'];
};


export type MutationReceiveSupplementArgs = {
  number: Scalars['String']['input'];
};


export type MutationRecordFaultArgs = {
  input: RecordFaultInput;
};


export type MutationRecordFollowUpArgs = {
  note: Scalars['String']['input'];
  number: Scalars['String']['input'];
  satisfied?: InputMaybe<Scalars['Boolean']['input']>;
  stage: FollowUpStage;
};


export type MutationRefreshArgs = {
  refreshToken: Scalars['String']['input'];
};


export type MutationRejectCaseArgs = {
  number: Scalars['String']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationReplyToOrderArgs = {
  input: OrderReplyInput;
};


export type MutationReplyToUrgeArgs = {
  input: UrgeReplyInput;
};


export type MutationReportCaseEventsArgs = {
  events: Array<ReportedEventInput>;
};


export type MutationReportEvaluationArgs = {
  candidates: Array<Scalars['String']['input']>;
  code: Scalars['String']['input'];
  disqualified?: InputMaybe<Scalars['JSON']['input']>;
  lot?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationReportTenderEventsArgs = {
  events: Array<TenderEventInput>;
};


export type MutationRequestLoginCodeArgs = {
  phone: Scalars['String']['input'];
};


export type MutationRequestSupplementArgs = {
  missingMaterials?: InputMaybe<Array<Scalars['String']['input']>>;
  number: Scalars['String']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationResumeCaseArgs = {
  number: Scalars['String']['input'];
};


export type MutationReturnBondsArgs = {
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationRevokeApiKeyArgs = {
  id: Scalars['ID']['input'];
};


export type MutationSetAccountPasswordArgs = {
  password: Scalars['String']['input'];
  username: Scalars['String']['input'];
};


export type MutationSetAccountabilityRuleActiveArgs = {
  active: Scalars['Boolean']['input'];
  id: Scalars['ID']['input'];
};


export type MutationSignContractArgs = {
  code: Scalars['String']['input'];
  lot?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  performanceBond?: Scalars['Float']['input'];
  value: Scalars['Float']['input'];
};


export type MutationSubmitBidArgs = {
  input: SubmitBidInput;
};


export type MutationSubmitCaseArgs = {
  input: SubmitCaseInput;
};


export type MutationSubmitComplaintArgs = {
  input: SubmitComplaintInput;
};


export type MutationSuperviseCountyCaseArgs = {
  input: CountyCommandInput;
};


export type MutationSuspendCaseArgs = {
  kind: SuspendKind;
  number: Scalars['String']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationTenderEventArgs = {
  action: TenderAction;
  attributes?: InputMaybe<Scalars['JSON']['input']>;
  clientEventId?: InputMaybe<Scalars['String']['input']>;
  code: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationUpdateAccountabilityRuleArgs = {
  id: Scalars['ID']['input'];
  input: AccountabilityRuleInput;
};


export type MutationUpdateCameraArgs = {
  id: Scalars['ID']['input'];
  input: CameraInput;
};


export type MutationUpdateSupervisionRuleArgs = {
  enabled?: InputMaybe<Scalars['Boolean']['input']>;
  id: Scalars['ID']['input'];
  input: SupervisionRuleInput;
};


export type MutationUrgeArgs = {
  input: UrgeInput;
};


export type MutationWithdrawBidArgs = {
  bidderCode: Scalars['String']['input'];
  code: Scalars['String']['input'];
  lot?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};


export type MutationWithdrawCaseArgs = {
  number: Scalars['String']['input'];
};

/** 一条短信或语音通知 */
export type Notice = {
  __typename?: 'Notice';
  attempts: Scalars['Int']['output'];
  /** sms / voice */
  channel: Scalars['String']['output'];
  createdAt: Scalars['DateTime']['output'];
  errorCode: Maybe<Scalars['String']['output']>;
  errorMessage: Maybe<Scalars['String']['output']>;
  finishedAt: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  /** 暂缓至（夜间免打扰、频率限制） */
  notBefore: Maybe<Scalars['DateTime']['output']>;
  provider: Maybe<Scalars['String']['output']>;
  providerMessageId: Maybe<Scalars['String']['output']>;
  providerStatus: Maybe<Scalars['String']['output']>;
  /** 接收号码（脱敏） */
  recipient: Scalars['String']['output'];
  /** applicant / staff */
  recipientKind: Scalars['String']['output'];
  sentAt: Maybe<Scalars['DateTime']['output']>;
  status: NoticeStatus;
  template: Scalars['String']['output'];
  /** 通知名称（中文），如 受理通知、催办通知 */
  templateLabel: Scalars['String']['output'];
};

/** 通知状态 */
export type NoticeStatus =
  | 'DELIVERED'
  | 'FAILED'
  | 'QUEUED'
  | 'RETRYING'
  | 'SENDING'
  | 'SENT'
  | 'UNDELIVERED';

/** 按月按时办结率 */
export type OnTimeTrendPoint = {
  __typename?: 'OnTimeTrendPoint';
  completed: Scalars['Int']['output'];
  /** YYYY-MM */
  month: Scalars['String']['output'];
  onTime: Scalars['Int']['output'];
  onTimeRate: Maybe<Scalars['Float']['output']>;
};

/** 反馈：采取了什么措施，预计何时办结 */
export type OrderReplyInput = {
  finishBy?: InputMaybe<Scalars['DateTime']['input']>;
  orderId?: InputMaybe<Scalars['ID']['input']>;
  orderNumber?: InputMaybe<Scalars['String']['input']>;
  reply?: Scalars['String']['input'];
};

/** 督办单状态 */
export type OrderStatus =
  | 'OPEN'
  | 'REPLIED';

/** 办结情况 how a finished clock finished */
export type Outcome =
  | 'EARLY'
  | 'ON_TIME'
  | 'OVERDUE';

/** 实时总览 */
export type Overview = {
  __typename?: 'Overview';
  asOf: Scalars['DateTime']['output'];
  centers: Array<OverviewRow>;
  departments: Array<OverviewRow>;
};

/** 部门或中心的实时概况 */
export type OverviewRow = {
  __typename?: 'OverviewRow';
  center: Scalars['String']['output'];
  code: Maybe<Scalars['String']['output']>;
  /** 待答复的投诉、咨询的灯色 */
  complaintLights: LightCounts;
  lights: LightCounts;
  name: Scalars['String']['output'];
  /** 待反馈的督办单的灯色 */
  orderLights: LightCounts;
  /** 超法定时限：未办结且已超过法定时限的办件数（行政许可法第四十二条；补正和第四十五条特别程序不计） */
  overLegalLimit: Scalars['Int']['output'];
  statuses: Array<StatusCount>;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
  hasPreviousPage: Scalars['Boolean']['output'];
  startCursor: Maybe<Scalars['String']['output']>;
};

/** 与账本不符的投影行（表、行、列） */
export type ProjectionDifferenceItem = {
  __typename?: 'ProjectionDifferenceItem';
  /** 最后写入该行的账本事件所在中心 */
  centerId: Maybe<Scalars['ID']['output']>;
  /** 不符的列；为空时整行缺失或账本中没有 */
  column: Maybe<Scalars['String']['output']>;
  detail: Scalars['String']['output'];
  rowId: Scalars['String']['output'];
  /** 最后写入该行的账本事件序号 */
  seq: Maybe<Scalars['Int']['output']>;
  table: Scalars['String']['output'];
};

/** 发布结果：重复发布同一期间不会再发布，返回已有报告 */
export type PublishReportResult = {
  __typename?: 'PublishReportResult';
  created: Scalars['Boolean']['output'];
  /** 本次写入的短信通知条数 */
  notices: Scalars['Int']['output'];
  report: PublishedReport;
};

/** 发布招标公告（或资格预审公告）并发售文件 */
export type PublishTenderInput = {
  agency?: InputMaybe<Scalars['String']['input']>;
  authority?: InputMaybe<Scalars['String']['input']>;
  authorityDepartmentCode?: InputMaybe<Scalars['String']['input']>;
  awardCriteria?: Scalars['String']['input'];
  bidDeadline?: InputMaybe<Scalars['DateTime']['input']>;
  ceilingPrice?: InputMaybe<Scalars['Float']['input']>;
  centerCode: Scalars['String']['input'];
  clientEventId?: InputMaybe<Scalars['String']['input']>;
  code: Scalars['String']['input'];
  currency?: Scalars['String']['input'];
  estimate: Scalars['Float']['input'];
  invited?: InputMaybe<Array<Scalars['String']['input']>>;
  legallyRequired?: Scalars['Boolean']['input'];
  lots?: InputMaybe<Array<LotInput>>;
  method?: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  prequalDeadline?: InputMaybe<Scalars['DateTime']['input']>;
  prequalification?: Scalars['Boolean']['input'];
  saleEnd: Scalars['DateTime']['input'];
  saleStart?: InputMaybe<Scalars['DateTime']['input']>;
  stateFunded?: Scalars['Boolean']['input'];
  tenderer: Scalars['String']['input'];
  title: Scalars['String']['input'];
};

/** 已发布的效能报告（快照：发布后不再变化） */
export type PublishedReport = {
  __typename?: 'PublishedReport';
  accountability: AccountabilityHandling;
  center: ReportCenter;
  departments: Array<ReportFigures>;
  id: Scalars['ID']['output'];
  lights: Array<DepartmentLights>;
  lightsAsOf: Scalars['DateTime']['output'];
  /** 近12个月按时办结率走势 */
  onTimeTrend: Array<OnTimeTrendPoint>;
  /** PDF 下载链接：领导和中心管理为全文，窗口工作人员为本窗口报告；公众为空 */
  pdfUrl: Maybe<Scalars['String']['output']>;
  periodFrom: Scalars['Date']['output'];
  periodTo: Scalars['Date']['output'];
  publishedAt: Scalars['DateTime']['output'];
  title: Scalars['String']['output'];
  totals: ReportFigures;
  windows: Array<ReportFigures>;
};

export type Query = {
  __typename?: 'Query';
  _entities: Array<Maybe<_Entity>>;
  _service: _Service;
  /** 效能责任追究规则 */
  accountabilityRules: Array<AccountabilityRule>;
  /** 责任追究建议（按角色限定范围，最新在前，至多 500 条） */
  accountabilitySuggestions: Array<AccountabilitySuggestion>;
  /** 工作人员账号（监察看全部，中心管理员看本中心） */
  accounts: Array<StaffAccount>;
  /** API 密钥列表（监察看全部，中心管理员看本中心） */
  apiKeys: Array<ApiKey>;
  /** 申诉（按角色限定范围，最新在前） */
  appeals: Array<Appeal>;
  /** 摄像头目录（监察人员全部；中心管理员本中心） */
  cameras: Array<Camera>;
  /** 按办件编号查询；无权查看的与不存在的同样返回空 */
  case: Maybe<Case>;
  /** 办件列表（按角色限定范围，最新在前） */
  cases: CaseConnection;
  center: Maybe<Center>;
  /** 全部中心 */
  centers: Array<Center>;
  /** 按编号查询投诉咨询；无权查看的与不存在的同样返回空 */
  complaint: Maybe<Complaint>;
  /** 投诉咨询列表（按角色限定范围：监察全部、中心本中心、部门本部门、投诉人本人；最新在前） */
  complaints: ComplaintConnection;
  /** 本级复制的各县区部署及其副本状态（仅监察人员） */
  counties: Array<County>;
  /** 送往县区部署的催办、督办及其送达进度（监察全部；中心管理本中心），最新在前 */
  countyCommands: CountyCommandConnection;
  /** 各中心事项覆盖：事项总数、进驻中心办理数、纳入电子监察数（公开汇总） */
  coverage: Array<CenterCoverage>;
  /** 部门（可按中心） */
  departments: Array<Department>;
  /** 好差评汇总（期间 [from, to)，按角色限定范围） */
  evaluationSummary: EvaluationSummary;
  /** 差错类型及其类别（时效、程序、作风） */
  faultKinds: Array<FaultKindInfo>;
  /** 差错列表（按角色限定范围，最新在前） */
  faults: FaultConnection;
  item: Maybe<Item>;
  /** 审批事项目录 */
  items: ItemConnection;
  /** 当前登录身份 */
  me: Me;
  /** 各中心、各部门的红黄白灯与状态统计（公开，仅汇总数据） */
  overview: Overview;
  /** 一份已发布的效能报告（公开，仅汇总数据） */
  publishedReport: Maybe<PublishedReport>;
  /** 已发布的效能报告（公开，仅汇总数据）；按中心、报告期筛选，新的在前 */
  publishedReports: Array<PublishedReport>;
  /** 各事项环节的实时报送覆盖：事件在发生后不超过 realtime_report_minutes（设置，默认 10 分钟）记入台账即为实时报送，否则为事后补录；某环节期间内的办结全部实时报送，该环节计为实时报送环节 */
  reportingCoverage: Array<ItemReporting>;
  /** 工作人员（仅工作人员可查） */
  staff: Array<Staff>;
  /** 某工作人员收到的通知（最新在前）：监察看全部，中心管理员看本中心，部门领导看本部门 */
  staffNotices: Array<Notice>;
  /** 效能统计：任意期间（含首尾两日，北京时间），按中心、部门、窗口、工作人员或事项分组，附合计行；范围按角色收窄（公众仅汇总，不含工作人员）。期间结束早于开始：INVALID_PERIOD */
  statistics: Statistics;
  /** 按编号查询督办单；范围外的与不存在的同样返回空 */
  supervisionOrder: Maybe<SupervisionOrder>;
  /** 督办单列表（监察全部；中心管理本中心；部门本部门；窗口本窗口），最新在前 */
  supervisionOrders: SupervisionOrderConnection;
  /** 自动规则（监察人员、中心管理员） */
  supervisionRules: Array<SupervisionRule>;
  /** 按项目编号查询；无权查看的与不存在的同样返回空 */
  tender: Maybe<Tender>;
  /** 招标项目列表（按角色限定范围，最新在前） */
  tenders: TenderConnection;
  /** 催办单列表（范围同督办单），最新在前 */
  urges: UrgeConnection;
  /** 办件在窗口发生的每个事件在录像中的位置（点击即跳转回看） */
  videoBookmarks: Array<VideoBookmark>;
  /** 录像证据（按办件或差错） */
  videoEvidence: Array<VideoEvidence>;
  /** 窗口（可按部门） */
  windows: Array<Window>;
};


export type Query_EntitiesArgs = {
  representations: Array<Scalars['_Any']['input']>;
};


export type QueryAccountabilityRulesArgs = {
  includeInactive?: Scalars['Boolean']['input'];
};


export type QueryAccountabilitySuggestionsArgs = {
  filter?: InputMaybe<SuggestionFilter>;
};


export type QueryApiKeysArgs = {
  departmentId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryAppealsArgs = {
  statuses?: InputMaybe<Array<AppealStatus>>;
};


export type QueryCamerasArgs = {
  centerCode?: InputMaybe<Scalars['String']['input']>;
  includeInactive?: Scalars['Boolean']['input'];
  windowCode?: InputMaybe<Scalars['String']['input']>;
};


export type QueryCaseArgs = {
  number: Scalars['String']['input'];
};


export type QueryCasesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<CaseFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryCenterArgs = {
  code: Scalars['String']['input'];
};


export type QueryComplaintArgs = {
  number: Scalars['String']['input'];
};


export type QueryComplaintsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ComplaintFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryCountyCommandsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  countyCode?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  statuses?: InputMaybe<Array<CountyCommandStatus>>;
};


export type QueryCoverageArgs = {
  centerId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryDepartmentsArgs = {
  centerCode?: InputMaybe<Scalars['String']['input']>;
};


export type QueryEvaluationSummaryArgs = {
  centerId?: InputMaybe<Scalars['ID']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  windowId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryFaultsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<FaultFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryItemArgs = {
  centerCode: Scalars['String']['input'];
  code: Scalars['String']['input'];
};


export type QueryItemsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<ItemFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryPublishedReportArgs = {
  id: Scalars['ID']['input'];
};


export type QueryPublishedReportsArgs = {
  centerId?: InputMaybe<Scalars['ID']['input']>;
  periodFrom?: InputMaybe<Scalars['Date']['input']>;
  periodTo?: InputMaybe<Scalars['Date']['input']>;
};


export type QueryReportingCoverageArgs = {
  centerId?: InputMaybe<Scalars['ID']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  from: Scalars['Date']['input'];
  itemId?: InputMaybe<Scalars['ID']['input']>;
  to: Scalars['Date']['input'];
};


export type QueryStaffArgs = {
  departmentId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryStaffNoticesArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
  staffId: Scalars['ID']['input'];
};


export type QueryStatisticsArgs = {
  centerId?: InputMaybe<Scalars['ID']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  from: Scalars['Date']['input'];
  groupBy: StatisticsGroupBy;
  itemId?: InputMaybe<Scalars['ID']['input']>;
  staffId?: InputMaybe<Scalars['ID']['input']>;
  to: Scalars['Date']['input'];
  windowId?: InputMaybe<Scalars['ID']['input']>;
};


export type QuerySupervisionOrderArgs = {
  number: Scalars['String']['input'];
};


export type QuerySupervisionOrdersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<SupervisionFilterInput>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QuerySupervisionRulesArgs = {
  includeDisabled?: Scalars['Boolean']['input'];
};


export type QueryTenderArgs = {
  code: Scalars['String']['input'];
};


export type QueryTendersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<TenderFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryUrgesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<SupervisionFilterInput>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryVideoBookmarksArgs = {
  caseNumber: Scalars['String']['input'];
};


export type QueryVideoEvidenceArgs = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  faultId?: InputMaybe<Scalars['ID']['input']>;
};


export type QueryWindowsArgs = {
  departmentId?: InputMaybe<Scalars['ID']['input']>;
};

/** 录入差错（作风问题等）：指明工作人员、窗口或部门之一，可关联办件与账本事件 */
export type RecordFaultInput = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  description: Scalars['String']['input'];
  /** 作为证据的账本事件编号 */
  eventIds?: Array<Scalars['Int']['input']>;
  /** 其他证据，如视频片段、群众反映记录 */
  evidence?: InputMaybe<Scalars['JSON']['input']>;
  /** 差错类型代码，见 faultKinds */
  kind: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  staffId?: InputMaybe<Scalars['ID']['input']>;
  windowId?: InputMaybe<Scalars['ID']['input']>;
};

/** 红旗预警及其证据 */
export type RedFlag = {
  __typename?: 'RedFlag';
  code: Scalars['String']['output'];
  evidence: Scalars['JSON']['output'];
  lot: Maybe<Scalars['String']['output']>;
  raisedAt: Scalars['DateTime']['output'];
  title: Scalars['String']['output'];
};

/** 县区账本复制状态 */
export type ReplicationStatus =
  | 'DIVERGED'
  | 'LIVE'
  | 'STALE';

/** 报告所属中心 */
export type ReportCenter = {
  __typename?: 'ReportCenter';
  code: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
};

/** 效能统计（汇总数据，不含个人信息）：部门、窗口或全中心合计 */
export type ReportFigures = {
  __typename?: 'ReportFigures';
  accepted: Scalars['Int']['output'];
  averageHandlingDays: Maybe<Scalars['Float']['output']>;
  complaints: Scalars['Int']['output'];
  completed: Scalars['Int']['output'];
  /** 所属部门（仅窗口行） */
  departmentId: Maybe<Scalars['ID']['output']>;
  departmentName: Maybe<Scalars['String']['output']>;
  early: Scalars['Int']['output'];
  earlyRate: Maybe<Scalars['Float']['output']>;
  errors: Scalars['Int']['output'];
  evaluationScore: Maybe<Scalars['Float']['output']>;
  evaluations: Scalars['Int']['output'];
  handled: Scalars['Int']['output'];
  id: Maybe<Scalars['ID']['output']>;
  name: Scalars['String']['output'];
  onTime: Scalars['Int']['output'];
  /** 按时办结率（0–1） */
  onTimeRate: Maybe<Scalars['Float']['output']>;
  orders: Scalars['Int']['output'];
  ordersAnsweredOnTime: Scalars['Int']['output'];
  /** 超法定时限办结（行政许可法第四十二条） */
  overLegalLimit: Scalars['Int']['output'];
  overdue: Scalars['Int']['output'];
  p90HandlingDays: Maybe<Scalars['Float']['output']>;
  /** 部门按时办结率名次（仅部门行） */
  rank: Maybe<Scalars['Int']['output']>;
  received: Scalars['Int']['output'];
  returned: Scalars['Int']['output'];
  supplementRequests: Scalars['Int']['output'];
  suspendedDays: Scalars['Int']['output'];
  urges: Scalars['Int']['output'];
  urgesAnsweredOnTime: Scalars['Int']['output'];
};

/** 报送的一条办件事件 */
export type ReportedEventInput = {
  action: CaseAction;
  applicantName?: InputMaybe<Scalars['String']['input']>;
  attributes?: InputMaybe<Scalars['JSON']['input']>;
  caseNumber: Scalars['String']['input'];
  centerCode?: InputMaybe<Scalars['String']['input']>;
  channel?: InputMaybe<Scalars['String']['input']>;
  departmentCode?: InputMaybe<Scalars['String']['input']>;
  itemCode?: InputMaybe<Scalars['String']['input']>;
  occurredAt: Scalars['DateTime']['input'];
  /** 报送系统自己的事件编号（幂等键） */
  sourceEventId: Scalars['String']['input'];
  staffCode?: InputMaybe<Scalars['String']['input']>;
  stepName?: InputMaybe<Scalars['String']['input']>;
  windowCode?: InputMaybe<Scalars['String']['input']>;
};

/** 角色 */
export type Role =
  | 'APPLICANT'
  | 'CENTER_ADMIN'
  | 'DEPARTMENT_LEADER'
  | 'DEPARTMENT_SYSTEM'
  | 'PUBLIC'
  | 'SUPERVISOR'
  | 'WINDOW_STAFF';

/** 处理方式 */
export type Sanction =
  | 'ADMONISHING_TALK'
  | 'CIRCULATED_CRITICISM'
  | 'EFFICIENCY_WARNING'
  | 'REASSIGNMENT'
  | 'RECTIFICATION';

/** 某一评分的数量 */
export type ScoreCount = {
  __typename?: 'ScoreCount';
  count: Scalars['Int']['output'];
  label: Scalars['String']['output'];
  score: Scalars['Int']['output'];
};

/** 工作人员 */
export type Staff = {
  __typename?: 'Staff';
  code: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  isLeader: Scalars['Boolean']['output'];
  name: Scalars['String']['output'];
  title: Maybe<Scalars['String']['output']>;
};

/** 工作人员账号 */
export type StaffAccount = {
  __typename?: 'StaffAccount';
  /** 停用的账号不能登录，已发的令牌立即失效 */
  active: Scalars['Boolean']['output'];
  centerCode: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  departmentCode: Maybe<Scalars['String']['output']>;
  displayName: Scalars['String']['output'];
  id: Scalars['ID']['output'];
  role: Role;
  username: Scalars['String']['output'];
  windowCode: Maybe<Scalars['String']['output']>;
};

/** 效能统计表 */
export type Statistics = {
  __typename?: 'Statistics';
  /** Excel 下载链接（签名，10 分钟内有效，数字与本查询相同） */
  excelUrl: Scalars['String']['output'];
  from: Scalars['Date']['output'];
  groupBy: StatisticsGroupBy;
  rows: Array<StatisticsRow>;
  to: Scalars['Date']['output'];
  /** 合计行 */
  totals: StatisticsRow;
};

/** 统计分组：中心、部门、窗口、工作人员、事项 */
export type StatisticsGroupBy =
  | 'CENTER'
  | 'DEPARTMENT'
  | 'ITEM'
  | 'STAFF'
  | 'WINDOW';

/** 一个分组（或合计）的效能统计；天数均为工作日，日期按北京时间 */
export type StatisticsRow = {
  __typename?: 'StatisticsRow';
  /** 受理：期间内受理（含依法视为受理）的办件数 */
  accepted: Scalars['Int']['output'];
  /** 平均办理工作日（受理至办结，扣除暂停） */
  averageHandlingDays: Maybe<Scalars['Float']['output']>;
  /** 期间内受理的投诉（不含咨询） */
  complaints: Scalars['Int']['output'];
  /** 结件：期间内办结（准予或不予许可）的办件数 */
  completed: Scalars['Int']['output'];
  /** 提前办结：至少提前一个工作日 */
  early: Scalars['Int']['output'];
  /** 提前办结率 = 提前办结 / 结件 */
  earlyRate: Maybe<Scalars['Float']['output']>;
  /** 出错：期间内发生且有效或已确认的差错数（撤销的不计） */
  errors: Scalars['Int']['output'];
  /** 评价平均分（1–5） */
  evaluationScore: Maybe<Scalars['Float']['output']>;
  /** 期间内的评价数（含逾期视为基本满意） */
  evaluations: Scalars['Int']['output'];
  /** 办件：期间内曾在办的办件数（期末前已受理、期初前未结束） */
  handled: Scalars['Int']['output'];
  /** 分组对象编码 */
  keyCode: Maybe<Scalars['String']['output']>;
  /** 分组对象编号；合计行与未指定窗口/人员为空 */
  keyId: Maybe<Scalars['ID']['output']>;
  /** 分组对象名称（合计行为“合计”） */
  keyName: Scalars['String']['output'];
  /** 按时办结（含提前办结） */
  onTime: Scalars['Int']['output'];
  /** 按时办结率 = 按时办结 / 结件 */
  onTimeRate: Maybe<Scalars['Float']['output']>;
  /** 期间内下达的督办 */
  orders: Scalars['Int']['output'];
  /** 按时反馈的督办 */
  ordersAnsweredOnTime: Scalars['Int']['output'];
  /** 超法定时限：期间内办结且超过法定时限的办件数（行政许可法第四十二条，含批准的延期；补正和第四十五条特别程序不计） */
  overLegalLimit: Scalars['Int']['output'];
  /** 超期办结 */
  overdue: Scalars['Int']['output'];
  /** 90% 办件在此工作日数内办结 */
  p90HandlingDays: Maybe<Scalars['Int']['output']>;
  /** 接件：首个事件（网上申报或窗口受理）在期间内的办件数 */
  received: Scalars['Int']['output'];
  /** 退件 */
  returned: Scalars['Int']['output'];
  /** 补正告知次数 */
  supplementRequests: Scalars['Int']['output'];
  /** 期间内办结办件暂停计时（补正、特别程序）的工作日合计 */
  suspendedDays: Scalars['Int']['output'];
  /** 期间内收到的催办 */
  urges: Scalars['Int']['output'];
  /** 按时反馈的催办 */
  urgesAnsweredOnTime: Scalars['Int']['output'];
};

/** 状态统计 */
export type StatusCount = {
  __typename?: 'StatusCount';
  count: Scalars['Int']['output'];
  status: Scalars['String']['output'];
};

/** 办理环节 */
export type Step = {
  __typename?: 'Step';
  clock: Maybe<ClockInfo>;
  department: Department;
  finishedAt: Maybe<Scalars['DateTime']['output']>;
  limitDays: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  seq: Scalars['Int']['output'];
  staff: Maybe<Staff>;
  startedAt: Scalars['DateTime']['output'];
  status: Scalars['String']['output'];
};

export type StepInput = {
  departmentCode?: InputMaybe<Scalars['String']['input']>;
  limitDays: Scalars['Int']['input'];
  name: Scalars['String']['input'];
  seq?: InputMaybe<Scalars['Int']['input']>;
};

/** 一个环节的实时报送情况 */
export type StepReporting = {
  __typename?: 'StepReporting';
  /** 期间内该环节办结的事件数 */
  events: Scalars['Int']['output'];
  name: Scalars['String']['output'];
  /** 期间内该环节的办结全部实时报送 */
  realtime: Scalars['Boolean']['output'];
  /** 其中实时报送的事件数 */
  realtimeEvents: Scalars['Int']['output'];
};

/** 递交投标文件（开标前密封） */
export type SubmitBidInput = {
  bidder: Scalars['String']['input'];
  bidderCode: Scalars['String']['input'];
  bondAccount?: InputMaybe<Scalars['String']['input']>;
  bondAmount?: Scalars['Float']['input'];
  clientEventId?: InputMaybe<Scalars['String']['input']>;
  code: Scalars['String']['input'];
  content?: InputMaybe<Scalars['JSON']['input']>;
  lot?: InputMaybe<Scalars['String']['input']>;
  machineCode?: InputMaybe<Scalars['String']['input']>;
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
  price: Scalars['Float']['input'];
  projectManager?: InputMaybe<Scalars['String']['input']>;
};

/** 网上申报 */
export type SubmitCaseInput = {
  applicantIdNumber?: InputMaybe<Scalars['String']['input']>;
  applicantName: Scalars['String']['input'];
  applicantPhone?: InputMaybe<Scalars['String']['input']>;
  centerCode: Scalars['String']['input'];
  clientEventId?: InputMaybe<Scalars['String']['input']>;
  itemCode: Scalars['String']['input'];
  number: Scalars['String']['input'];
  occurredAt?: InputMaybe<Scalars['DateTime']['input']>;
};

/** 投诉或咨询：申请人登录后提交（答复发至登录手机），公众须留电话 */
export type SubmitComplaintInput = {
  /** 所涉办件编号（本人办件自动转该部门） */
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  /** 受理中心（不填为默认中心） */
  centerCode?: InputMaybe<Scalars['String']['input']>;
  content: Scalars['String']['input'];
  kind: ComplaintKind;
  name?: InputMaybe<Scalars['String']['input']>;
  /** 联系电话（公众必填，申请人用登录手机） */
  phone?: InputMaybe<Scalars['String']['input']>;
};

export type Subscription = {
  __typename?: 'Subscription';
  /** 一个办件的全部事件（同 Case.history）：先补发 after 之后的记录，再实时推送；无权查看的办件与不存在的同样答 CASE_NOT_FOUND */
  caseEvents: CaseEventMessage;
  /** 账本篡改或投影不符的实时告警（仅监察人员）：每晚校验发现时推送 */
  ledgerBreaches: LedgerBreachAlert;
  /** 灯色变化：先补发 after 之后的记录，再实时推送。按角色限定为可查看的办件；公众收到不含办件信息（编号、窗口、办件）的全部灯色变化 */
  lightChanged: LightChange;
  /** 本人（工作人员）通知的状态变化：写入、发送、送达或失败时实时推送 */
  myNoticeChanged: Notice;
  /** 催办、督办、反馈和升级的实时消息（after：先补发该账本编号之后的记录），按角色限定：窗口人员只收到发给本人或本窗口的 */
  supervisionEvents: SupervisionEvent;
  /** 新的红旗预警及其证据：监察、中心管理、行政监督部门；涉及投标的预警开标时推送（foundAt 为发现时间）；after 传回上次的游标，先补发其后的预警，再实时推送 */
  tenderRedFlags: TenderRedFlagRaised;
  /** 招投标阶段变化：按角色限定为可查看的项目；code 只看一个项目；after 传回上次的游标，先补发其后的变化，再实时推送 */
  tenderStageChanged: TenderStageChange;
};


export type SubscriptionCaseEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  number: Scalars['String']['input'];
};


export type SubscriptionLightChangedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<LightChangeFilter>;
};


export type SubscriptionSupervisionEventsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionTenderRedFlagsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  code?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionTenderStageChangedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  code?: InputMaybe<Scalars['String']['input']>;
};

/** 确认、改变（另选处理方式并说明理由）或不予追究（说明理由） */
export type SuggestionDecision =
  | 'CHANGE'
  | 'CONFIRM'
  | 'DISMISS';

/** 责任追究建议与申诉的筛选 */
export type SuggestionFilter = {
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** 2026、2026-Q4 或 2026-11 */
  period?: InputMaybe<Scalars['String']['input']>;
  statuses?: InputMaybe<Array<SuggestionStatus>>;
};

/** 建议状态 */
export type SuggestionStatus =
  | 'CHANGED'
  | 'CONFIRMED'
  | 'DISMISSED'
  | 'PENDING'
  | 'REVOKED'
  | 'WITHDRAWN';

/** 催办、督办的实时消息 */
export type SupervisionEvent = {
  __typename?: 'SupervisionEvent';
  caseNumber: Maybe<Scalars['String']['output']>;
  centerId: Scalars['ID']['output'];
  cursor: Scalars['String']['output'];
  departmentId: Scalars['ID']['output'];
  dueAt: Maybe<Scalars['DateTime']['output']>;
  /** urge.created / urge.replied / order.issued / order.replied / order.escalated */
  kind: Scalars['String']['output'];
  ledgerId: Scalars['Int']['output'];
  level: Maybe<Scalars['Int']['output']>;
  message: Scalars['String']['output'];
  /** 催办单或督办单编号 */
  number: Scalars['String']['output'];
  target: Scalars['String']['output'];
  windowId: Maybe<Scalars['ID']['output']>;
};

/** 催办、督办列表的筛选 */
export type SupervisionFilterInput = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  departmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  /** 督办单计时的灯色（催办单忽略） */
  lights?: InputMaybe<Array<Light>>;
  /** OPEN 待反馈 / REPLIED 已反馈 */
  statuses?: InputMaybe<Array<OrderStatus>>;
};

/** 督办单：有反馈期限（工作日）和自己的计时、灯色 */
export type SupervisionOrder = {
  __typename?: 'SupervisionOrder';
  /** 被督办人（含升级后的部门领导） */
  addressees: Array<Staff>;
  automatic: Scalars['Boolean']['output'];
  /** 所属办件编号 */
  caseNumber: Maybe<Scalars['String']['output']>;
  /** 当前反馈计时 */
  clock: Maybe<ClockInfo>;
  department: Department;
  /** 当前层级的反馈期限 */
  dueAt: Scalars['DateTime']['output'];
  escalatedAt: Maybe<Scalars['DateTime']['output']>;
  escalationLabel: Scalars['String']['output'];
  /** 0 承办人、1 部门领导、2 中心领导 */
  escalationLevel: Scalars['Int']['output'];
  finishBy: Maybe<Scalars['DateTime']['output']>;
  /** 首次反馈期限 */
  firstDueAt: Scalars['DateTime']['output'];
  id: Scalars['ID']['output'];
  issuedAt: Scalars['DateTime']['output'];
  issuedBy: Maybe<Scalars['String']['output']>;
  /** 当前反馈计时的灯色 */
  light: Maybe<Light>;
  message: Scalars['String']['output'];
  number: Scalars['String']['output'];
  repliedAt: Maybe<Scalars['DateTime']['output']>;
  repliedBy: Maybe<Scalars['String']['output']>;
  /** 在首次期限内、未经升级即反馈 */
  repliedOnTime: Maybe<Scalars['Boolean']['output']>;
  reply: Maybe<Scalars['String']['output']>;
  replyDays: Scalars['Int']['output'];
  ruleId: Maybe<Scalars['ID']['output']>;
  status: OrderStatus;
  target: Scalars['String']['output'];
  targetKind: Scalars['String']['output'];
  window: Maybe<Window>;
};

export type SupervisionOrderConnection = {
  __typename?: 'SupervisionOrderConnection';
  edges: Array<SupervisionOrderEdge>;
  pageInfo: PageInfo;
};

export type SupervisionOrderEdge = {
  __typename?: 'SupervisionOrderEdge';
  cursor: Scalars['String']['output'];
  node: SupervisionOrder;
};

/** 督办 */
export type SupervisionOrderInput = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  /** 督办内容 */
  message?: Scalars['String']['input'];
  /** 反馈期限（工作日） */
  replyDays?: Scalars['Int']['input'];
  /** 办件的一个在办环节 */
  stepId?: InputMaybe<Scalars['ID']['input']>;
  /** 招投标项目的一个计时阶段 */
  tenderStageId?: InputMaybe<Scalars['ID']['input']>;
  windowId?: InputMaybe<Scalars['ID']['input']>;
};

/** 自动催办、督办规则 */
export type SupervisionRule = {
  __typename?: 'SupervisionRule';
  /** urge 催办 / order 督办 */
  action: Scalars['String']['output'];
  /** 空：适用于全部中心 */
  centerId: Maybe<Scalars['ID']['output']>;
  createdAt: Scalars['DateTime']['output'];
  createdBy: Maybe<Scalars['String']['output']>;
  days: Maybe<Scalars['Int']['output']>;
  /** 规则的中文表述 */
  description: Scalars['String']['output'];
  enabled: Scalars['Boolean']['output'];
  id: Scalars['ID']['output'];
  message: Scalars['String']['output'];
  name: Scalars['String']['output'];
  replyDays: Scalars['Int']['output'];
  /** case 办件计时 / step 环节计时 */
  subject: Scalars['String']['output'];
  /** light_yellow 亮黄灯 / light_red 亮红灯 / red_for_days 红灯持续 N 个工作日 */
  trigger: Scalars['String']['output'];
  updatedAt: Scalars['DateTime']['output'];
};

/** 自动规则：触发条件 + 处置动作（未知的触发条件或动作将被拒绝） */
export type SupervisionRuleInput = {
  /** urge / order */
  action: Scalars['String']['input'];
  /** 空：全部中心 */
  centerId?: InputMaybe<Scalars['ID']['input']>;
  /** red_for_days：红灯持续的工作日数 */
  days?: InputMaybe<Scalars['Int']['input']>;
  message: Scalars['String']['input'];
  name: Scalars['String']['input'];
  replyDays?: Scalars['Int']['input'];
  /** case / step */
  subject?: Scalars['String']['input'];
  /** light_yellow / light_red / red_for_days */
  trigger: Scalars['String']['input'];
};

/** 不计时的特别程序（行政许可法第四十五条） */
export type SuspendKind =
  | 'APPRAISAL'
  | 'AUCTION'
  | 'EXPERT_REVIEW'
  | 'HEARING'
  | 'INSPECTION'
  | 'PUBLICITY'
  | 'QUARANTINE'
  | 'TENDER'
  | 'TESTING';

/** 招标项目 */
export type Tender = {
  __typename?: 'Tender';
  agency: Maybe<Scalars['String']['output']>;
  authority: Maybe<Scalars['String']['output']>;
  awardCriteria: Scalars['String']['output'];
  /** 投标人数：开标前对任何角色（含监察）均为空（法 22 不得透露潜在投标人的名称、数量） */
  bidCount: Maybe<Scalars['Int']['output']>;
  bidDeadline: Maybe<Scalars['DateTime']['output']>;
  /** 投标：开标前密封，任何角色（含监察）均读到空列表（见 bidsSealed）；开标后每次读取报价均被记录 */
  bids: Array<TenderBidNode>;
  /** 投标是否仍密封（开标前为 true：bids 为空列表，其余字段照常可读） */
  bidsSealed: Scalars['Boolean']['output'];
  ceilingPrice: Maybe<Scalars['Float']['output']>;
  center: Center;
  code: Scalars['String']['output'];
  committee: Scalars['JSON']['output'];
  currency: Scalars['String']['output'];
  estimate: Scalars['Float']['output'];
  /** 账本中的全过程记录；开标前不含投标事件与涉及投标人的内容（法 22） */
  history: Array<LedgerEntry>;
  id: Scalars['ID']['output'];
  legallyRequired: Scalars['Boolean']['output'];
  /** 当前灯色：未结的法定期限（及承诺时间）中最严重者；最短期限没有灯 */
  light: Maybe<Light>;
  /** 标段 */
  lots: Array<TenderLotNode>;
  method: Scalars['String']['output'];
  /** 异议与投诉（开标前不显示异议人、投诉人） */
  objections: Array<TenderObjectionNode>;
  /** OCDS 发布包：每个阶段事件一个发布（含投标扩展 bids.details；开标前不含投标及投标人），已按模式校验 */
  ocds: Scalars['JSON']['output'];
  /** OCDS 记录包：本项目的全部发布与按 OCDS 合并规则编译的记录（compiledRelease） */
  ocdsRecord: Scalars['JSON']['output'];
  openedAt: Maybe<Scalars['DateTime']['output']>;
  publishedAt: Scalars['DateTime']['output'];
  /** 红旗预警（OCP 指标与条例 40 串标迹象），含证据；涉及投标的预警开标后方可查看（raisedAt 为发现时间） */
  redFlags: Array<RedFlag>;
  stage: TenderStage;
  stageLabel: Scalars['String']['output'];
  /** 各阶段：法定期限的计时与灯色，法定最短期限的最早可结束时间，及法律依据 */
  stages: Array<TenderStageInfo>;
  stateFunded: Scalars['Boolean']['output'];
  suspended: Scalars['Boolean']['output'];
  tenderer: Scalars['String']['output'];
  title: Scalars['String']['output'];
};

/** 招投标阶段事件 */
export type TenderAction =
  | 'ACCEPT_COMPLAINT'
  | 'AMEND'
  | 'ANSWER_OBJECTION'
  | 'AWARD'
  | 'COMPLAIN'
  | 'DECIDE_COMPLAINT'
  | 'FAIL'
  | 'FILE_REPORT'
  | 'FORM_COMMITTEE'
  | 'OBJECT'
  | 'OPEN'
  | 'PAUSE_COMPLAINT'
  | 'PREQUALIFY'
  | 'PUBLISH'
  | 'PUBLISH_CANDIDATES'
  | 'REPORT_EVALUATION'
  | 'RESUME_COMPLAINT'
  | 'RETURN_BONDS'
  | 'SIGN_CONTRACT'
  | 'SUBMIT_BID'
  | 'WITHDRAW_BID';

/** 投标（开标前密封：任何人不得查看报价与内容） */
export type TenderBidNode = {
  __typename?: 'TenderBidNode';
  bidder: Scalars['String']['output'];
  bidderCode: Scalars['String']['output'];
  bondAccount: Maybe<Scalars['String']['output']>;
  bondAmount: Scalars['Float']['output'];
  /** 投标文件内容摘要；每次读取均被记录 */
  content: Scalars['JSON']['output'];
  disqualifyReason: Maybe<Scalars['String']['output']>;
  id: Scalars['ID']['output'];
  /** 记录时间晚于投标截止（补录、倒签） */
  lateReport: Scalars['Boolean']['output'];
  lot: Scalars['String']['output'];
  /** 投标文件制作机器码 */
  machineCode: Maybe<Scalars['String']['output']>;
  /** 投标报价（元）；每次读取均被记录 */
  price: Scalars['Float']['output'];
  projectManager: Maybe<Scalars['String']['output']>;
  recordedAt: Scalars['DateTime']['output'];
  status: Scalars['String']['output'];
  submittedAt: Scalars['DateTime']['output'];
};

export type TenderConnection = {
  __typename?: 'TenderConnection';
  edges: Array<TenderEdge>;
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

export type TenderEdge = {
  __typename?: 'TenderEdge';
  cursor: Scalars['String']['output'];
  node: Tender;
};

/** 报送的一条招投标事件 */
export type TenderEventInput = {
  action: TenderAction;
  attributes?: InputMaybe<Scalars['JSON']['input']>;
  occurredAt: Scalars['DateTime']['input'];
  /** 交易中心系统自己的事件编号（幂等键） */
  sourceEventId: Scalars['String']['input'];
  tenderCode: Scalars['String']['input'];
};

/** 招标项目筛选 */
export type TenderFilter = {
  authority?: InputMaybe<Scalars['String']['input']>;
  authorityDepartmentIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  centerIds?: InputMaybe<Array<Scalars['ID']['input']>>;
  lights?: InputMaybe<Array<TenderLightFilter>>;
  /** open 公开招标 / invited 邀请招标 */
  methods?: InputMaybe<Array<Scalars['String']['input']>>;
  /** 指标代码，如 R024、C40_MACHINE */
  redFlags?: InputMaybe<Array<Scalars['String']['input']>>;
  stages?: InputMaybe<Array<TenderStage>>;
  /** 项目编号前缀、名称或招标人 */
  text?: InputMaybe<Scalars['String']['input']>;
  valueFrom?: InputMaybe<Scalars['Float']['input']>;
  valueTo?: InputMaybe<Scalars['Float']['input']>;
};

/** 筛选用的灯色，PAUSED 为因异议、投诉暂停计时 */
export type TenderLightFilter =
  | 'PAUSED'
  | 'RED'
  | 'WHITE'
  | 'YELLOW';

/** 标段 */
export type TenderLotNode = {
  __typename?: 'TenderLotNode';
  awardNoticeAt: Maybe<Scalars['DateTime']['output']>;
  awardValue: Maybe<Scalars['Float']['output']>;
  candidates: Scalars['JSON']['output'];
  ceilingPrice: Maybe<Scalars['Float']['output']>;
  code: Scalars['String']['output'];
  contractSignedAt: Maybe<Scalars['DateTime']['output']>;
  contractValue: Maybe<Scalars['Float']['output']>;
  estimate: Scalars['Float']['output'];
  name: Scalars['String']['output'];
  performanceBond: Maybe<Scalars['Float']['output']>;
  winnerCode: Maybe<Scalars['String']['output']>;
};

/** 异议或投诉 */
export type TenderObjectionNode = {
  __typename?: 'TenderObjectionNode';
  about: Scalars['String']['output'];
  filedAt: Scalars['DateTime']['output'];
  kind: Scalars['String']['output'];
  number: Scalars['String']['output'];
  /** 异议人、投诉人：开标前不公开（法 22） */
  party: Maybe<Scalars['String']['output']>;
  result: Maybe<Scalars['String']['output']>;
  status: Scalars['String']['output'];
};

/** 期限性质：FLOOR 法定最短期限（提前结束为违法，无倒计时灯）、DEADLINE 法定期限（逾期为违法，有灯）、COMMITTED 交易中心承诺时间（有灯）、NONE 无法定时长（如评标，条例 48） */
export type TenderPeriodKind =
  | 'COMMITTED'
  | 'DEADLINE'
  | 'FLOOR'
  | 'NONE';

/** 新的红旗预警（实时） */
export type TenderRedFlagRaised = {
  __typename?: 'TenderRedFlagRaised';
  code: Scalars['String']['output'];
  /** 续订游标：断线后以 after 传回，不漏不重 */
  cursor: Maybe<Scalars['String']['output']>;
  evidence: Scalars['JSON']['output'];
  flag: Scalars['String']['output'];
  /** 发现时间（开标前发现的涉及投标的预警，开标时才推送） */
  foundAt: Maybe<Scalars['DateTime']['output']>;
  ledgerId: Maybe<Scalars['Int']['output']>;
  lot: Maybe<Scalars['String']['output']>;
  title: Scalars['String']['output'];
};

/** 招投标阶段 */
export type TenderStage =
  | 'AWARDED'
  | 'BIDDING'
  | 'CLOSED'
  | 'CONTRACTED'
  | 'EVALUATION'
  | 'FAILED'
  | 'PREQUALIFICATION'
  | 'PUBLICITY'
  | 'REPORTED';

/** 招投标阶段变化（实时） */
export type TenderStageChange = {
  __typename?: 'TenderStageChange';
  code: Scalars['String']['output'];
  /** 续订游标：断线后以 after 传回，不漏不重 */
  cursor: Maybe<Scalars['String']['output']>;
  kind: Scalars['String']['output'];
  ledgerId: Maybe<Scalars['Int']['output']>;
  previousStage: Maybe<TenderStage>;
  stage: TenderStage;
};

/** 招投标阶段：法定期限（计时、灯色）或法定最短期限（最早可结束时间）及其法律依据 */
export type TenderStageInfo = {
  __typename?: 'TenderStageInfo';
  article: Maybe<Scalars['String']['output']>;
  basis: Maybe<Scalars['String']['output']>;
  /** 期限届满时刻（法定期限或承诺时间；最短期限无此项） */
  dueAt: Maybe<Scalars['DateTime']['output']>;
  /** 法定最短期限：最早可依法结束的时刻（最后一日遇休息日顺延，民法典 203） */
  earliestEnd: Maybe<Scalars['DateTime']['output']>;
  finishedAt: Maybe<Scalars['DateTime']['output']>;
  kind: Scalars['String']['output'];
  /** 法律依据：条款与原文；无法定时长的阶段（评标）为空 */
  legalBasis: Maybe<Scalars['String']['output']>;
  /** 灯色：仅法定期限与承诺时间有；最短期限与无时长的阶段为空 */
  light: Maybe<Light>;
  limitDays: Maybe<Scalars['Int']['output']>;
  name: Scalars['String']['output'];
  /** early / on_time / overdue（期限）；lawful / floor_breach（最短期限） */
  outcome: Maybe<Scalars['String']['output']>;
  paused: Scalars['Boolean']['output'];
  periodKind: TenderPeriodKind;
  rule: Scalars['String']['output'];
  /** 招标人确定的结束时间（如投标截止、公示结束） */
  scheduledEnd: Maybe<Scalars['DateTime']['output']>;
  startedAt: Scalars['DateTime']['output'];
  status: Scalars['String']['output'];
};

/** 全程监督：办件经历中的一件事 */
export type TimelineEntry = {
  __typename?: 'TimelineEntry';
  actor: Maybe<Scalars['String']['output']>;
  at: Scalars['DateTime']['output'];
  detail: Scalars['JSON']['output'];
  /** case.accept、step.done、light.red、urge.created、order.escalated、notice … */
  kind: Scalars['String']['output'];
  ledgerEventId: Maybe<Scalars['Int']['output']>;
  title: Scalars['String']['output'];
};

/** 催办单 */
export type Urge = {
  __typename?: 'Urge';
  /** 被催办人 */
  addressees: Array<Staff>;
  /** 由自动规则发出 */
  automatic: Scalars['Boolean']['output'];
  /** 所属办件编号 */
  caseNumber: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  createdBy: Maybe<Scalars['String']['output']>;
  department: Department;
  /** 反馈：预计办结时间 */
  finishBy: Maybe<Scalars['DateTime']['output']>;
  id: Scalars['ID']['output'];
  message: Scalars['String']['output'];
  number: Scalars['String']['output'];
  repliedAt: Maybe<Scalars['DateTime']['output']>;
  repliedBy: Maybe<Scalars['String']['output']>;
  /** 反馈：采取的措施 */
  reply: Maybe<Scalars['String']['output']>;
  replyDueAt: Maybe<Scalars['DateTime']['output']>;
  ruleId: Maybe<Scalars['ID']['output']>;
  status: UrgeStatus;
  /** 催办对象 */
  target: Scalars['String']['output'];
  /** case 办件 / step 环节 / window 窗口 / department 部门 / tender_stage 招投标阶段 */
  targetKind: Scalars['String']['output'];
  window: Maybe<Window>;
};

export type UrgeConnection = {
  __typename?: 'UrgeConnection';
  edges: Array<UrgeEdge>;
  pageInfo: PageInfo;
};

export type UrgeEdge = {
  __typename?: 'UrgeEdge';
  cursor: Scalars['String']['output'];
  node: Urge;
};

/** 催办 */
export type UrgeInput = {
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  departmentId?: InputMaybe<Scalars['ID']['input']>;
  /** 催办内容 */
  message?: Scalars['String']['input'];
  /** 反馈期限（工作日） */
  replyDays?: Scalars['Int']['input'];
  /** 办件的一个在办环节 */
  stepId?: InputMaybe<Scalars['ID']['input']>;
  /** 招投标项目的一个计时阶段 */
  tenderStageId?: InputMaybe<Scalars['ID']['input']>;
  windowId?: InputMaybe<Scalars['ID']['input']>;
};

/** 催办反馈 */
export type UrgeReplyInput = {
  finishBy?: InputMaybe<Scalars['DateTime']['input']>;
  reply?: Scalars['String']['input'];
  urgeId?: InputMaybe<Scalars['ID']['input']>;
  urgeNumber?: InputMaybe<Scalars['String']['input']>;
};

/** 催办单状态 */
export type UrgeStatus =
  | 'OPEN'
  | 'REPLIED';

/** 办件事件在录像中的位置（书签） */
export type VideoBookmark = {
  __typename?: 'VideoBookmark';
  /** 事件发生的时刻 */
  at: Scalars['DateTime']['output'];
  camera: Camera;
  caseNumber: Scalars['String']['output'];
  /** 事件类型，如 case.accept、step.started */
  eventKind: Scalars['String']['output'];
  /** 在录像中的秒数（播放器 currentTime） */
  offsetSeconds: Maybe<Scalars['Float']['output']>;
  status: VideoBookmarkStatus;
  /** 事件（中文） */
  title: Scalars['String']['output'];
};

/** 录像是否可回看：已录、无该时刻录像、已过保留期、无法读取录像 */
export type VideoBookmarkStatus =
  | 'EXPIRED'
  | 'NOT_RECORDED'
  | 'NO_RECORDING'
  | 'RECORDED';

/** 录像证据 */
export type VideoEvidence = {
  __typename?: 'VideoEvidence';
  at: Scalars['DateTime']['output'];
  camera: Camera;
  caseNumber: Maybe<Scalars['String']['output']>;
  faultId: Maybe<Scalars['ID']['output']>;
  id: Scalars['ID']['output'];
  markedAt: Scalars['DateTime']['output'];
  markedBy: Maybe<Scalars['String']['output']>;
  note: Scalars['String']['output'];
  offsetSeconds: Maybe<Scalars['Float']['output']>;
  recordingUrl: Maybe<Scalars['String']['output']>;
};

/** 标记录像证据：指明差错或办件 */
export type VideoEvidenceInput = {
  at: Scalars['DateTime']['input'];
  cameraId: Scalars['ID']['input'];
  caseNumber?: InputMaybe<Scalars['String']['input']>;
  faultId?: InputMaybe<Scalars['ID']['input']>;
  note: Scalars['String']['input'];
};

/** 窗口 */
export type Window = {
  __typename?: 'Window';
  code: Scalars['String']['output'];
  department: Department;
  id: Scalars['ID']['output'];
  name: Scalars['String']['output'];
};

export type _Entity = Case | Center | Department | Item | Tender | Window;

export type _Service = {
  __typename?: '_Service';
  sdl: Scalars['String']['output'];
};

export type LightCountQueryVariables = Exact<{
  filter?: InputMaybe<CaseFilter>;
}>;


export type LightCountQuery = { __typename?: 'Query', cases: { __typename?: 'CaseConnection', totalCount: number } };

export type ScopeLightCountsQueryVariables = Exact<{ [key: string]: never; }>;


export type ScopeLightCountsQuery = { __typename?: 'Query', red: { __typename?: 'CaseConnection', totalCount: number }, yellow: { __typename?: 'CaseConnection', totalCount: number }, white: { __typename?: 'CaseConnection', totalCount: number }, paused: { __typename?: 'CaseConnection', totalCount: number } };

export type CaseRowFragment = { __typename?: 'Case', id: string, number: string, status: CaseStatus, statusLabel: string, light: Light | null, dueAt: string | null, overLegalLimit: boolean, acceptedAt: string | null, completedAt: string | null, applicantName: string | null, item: { __typename?: 'Item', name: string }, department: { __typename?: 'Department', id: string, name: string }, window: { __typename?: 'Window', code: string, name: string } | null, center: { __typename?: 'Center', code: string, name: string } };

export type CaseListQueryVariables = Exact<{
  filter?: InputMaybe<CaseFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type CaseListQuery = { __typename?: 'Query', cases: { __typename?: 'CaseConnection', totalCount: number, edges: Array<{ __typename?: 'CaseEdge', node: { __typename?: 'Case', id: string, number: string, status: CaseStatus, statusLabel: string, light: Light | null, dueAt: string | null, overLegalLimit: boolean, acceptedAt: string | null, completedAt: string | null, applicantName: string | null, item: { __typename?: 'Item', name: string }, department: { __typename?: 'Department', id: string, name: string }, window: { __typename?: 'Window', code: string, name: string } | null, center: { __typename?: 'Center', code: string, name: string } } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null } } };

export type ClockFieldsFragment = { __typename?: 'ClockInfo', startedAt: string, limitDays: number, extendedDays: number, pausedDays: number, basis: string, dueAt: string | null, yellowAt: string | null, redAt: string | null, provisional: boolean, light: Light, paused: boolean, finished: boolean, outcome: Outcome | null, outcomeDays: number | null, finishedAt: string | null };

export type CaseStoryQueryVariables = Exact<{
  number: Scalars['String']['input'];
}>;


export type CaseStoryQuery = { __typename?: 'Query', case: { __typename?: 'Case', channel: string, result: string | null, reason: string | null, submittedAt: string | null, deemedAccepted: boolean, reportedLate: boolean, extensionDays: number, applicantPhone: string | null, legalDueAt: string | null, id: string, number: string, status: CaseStatus, statusLabel: string, light: Light | null, dueAt: string | null, overLegalLimit: boolean, acceptedAt: string | null, completedAt: string | null, applicantName: string | null, item: { __typename?: 'Item', code: string, name: string, committedDays: number, legalDays: number }, staff: { __typename?: 'Staff', name: string } | null, clock: { __typename?: 'ClockInfo', startedAt: string, limitDays: number, extendedDays: number, pausedDays: number, basis: string, dueAt: string | null, yellowAt: string | null, redAt: string | null, provisional: boolean, light: Light, paused: boolean, finished: boolean, outcome: Outcome | null, outcomeDays: number | null, finishedAt: string | null } | null, legalClock: { __typename?: 'ClockInfo', startedAt: string, limitDays: number, extendedDays: number, pausedDays: number, basis: string, dueAt: string | null, yellowAt: string | null, redAt: string | null, provisional: boolean, light: Light, paused: boolean, finished: boolean, outcome: Outcome | null, outcomeDays: number | null, finishedAt: string | null } | null, steps: Array<{ __typename?: 'Step', seq: number, name: string, status: string, limitDays: number, startedAt: string, finishedAt: string | null, department: { __typename?: 'Department', name: string }, staff: { __typename?: 'Staff', name: string } | null, clock: { __typename?: 'ClockInfo', startedAt: string, limitDays: number, extendedDays: number, pausedDays: number, basis: string, dueAt: string | null, yellowAt: string | null, redAt: string | null, provisional: boolean, light: Light, paused: boolean, finished: boolean, outcome: Outcome | null, outcomeDays: number | null, finishedAt: string | null } | null }>, timeline: Array<{ __typename?: 'TimelineEntry', at: string, kind: string, title: string, actor: string | null, ledgerEventId: number | null }>, notices: Array<{ __typename?: 'Notice', id: string, channel: string, recipient: string, templateLabel: string, status: NoticeStatus, createdAt: string, sentAt: string | null }>, urges: Array<{ __typename?: 'Urge', id: string, number: string, message: string, createdAt: string, createdBy: string | null, automatic: boolean, replyDueAt: string | null, repliedAt: string | null, reply: string | null, status: UrgeStatus }>, orders: Array<{ __typename?: 'SupervisionOrder', id: string, number: string, message: string, issuedAt: string, automatic: boolean, dueAt: string, status: OrderStatus, escalationLabel: string, light: Light | null, repliedAt: string | null, repliedOnTime: boolean | null, reply: string | null }>, faults: Array<{ __typename?: 'Fault', id: string, kindLabel: string, description: string, status: FaultStatus, occurredAt: string, recordedBy: string | null }>, complaints: Array<{ __typename?: 'Complaint', id: string, number: string, kindLabel: string, statusLabel: string, content: string, filedAt: string, dueAt: string | null, light: Light | null, answer: string | null }>, evaluation: { __typename?: 'Evaluation', score: number, scoreLabel: string, comment: string | null, ratedAt: string, deemed: boolean, followUp: { __typename?: 'FollowUp', stageLabel: string, dueAt: string | null, overdue: boolean, closedAt: string | null, records: Array<{ __typename?: 'FollowUpRecord', label: string, note: string, at: string, actor: string | null }> } | null } | null, department: { __typename?: 'Department', id: string, name: string }, window: { __typename?: 'Window', code: string, name: string } | null, center: { __typename?: 'Center', code: string, name: string } } | null };

export type CaseEventsSubscriptionVariables = Exact<{
  number: Scalars['String']['input'];
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type CaseEventsSubscription = { __typename?: 'Subscription', caseEvents: { __typename?: 'CaseEventMessage', ledgerId: number, cursor: string, kind: string } };

export type DepartmentsQueryVariables = Exact<{ [key: string]: never; }>;


export type DepartmentsQuery = { __typename?: 'Query', centers: Array<{ __typename?: 'Center', id: string, code: string, name: string, level: CenterLevel }>, departments: Array<{ __typename?: 'Department', id: string, code: string, name: string, center: { __typename?: 'Center', id: string, code: string, name: string } }> };

export type FaultKindsQueryVariables = Exact<{ [key: string]: never; }>;


export type FaultKindsQuery = { __typename?: 'Query', faultKinds: Array<{ __typename?: 'FaultKindInfo', code: string, label: string, category: FaultCategory }> };

export type WindowsQueryVariables = Exact<{
  departmentId?: InputMaybe<Scalars['ID']['input']>;
}>;


export type WindowsQuery = { __typename?: 'Query', windows: Array<{ __typename?: 'Window', id: string, code: string, name: string }> };

export type LightCountsFieldsFragment = { __typename?: 'LightCounts', white: number, yellow: number, red: number, paused: number };

export type OverviewQueryVariables = Exact<{ [key: string]: never; }>;


export type OverviewQuery = { __typename?: 'Query', overview: { __typename?: 'Overview', asOf: string, centers: Array<{ __typename?: 'OverviewRow', name: string, code: string | null, center: string, overLegalLimit: number, lights: { __typename?: 'LightCounts', white: number, yellow: number, red: number, paused: number } }>, departments: Array<{ __typename?: 'OverviewRow', name: string, code: string | null, center: string, overLegalLimit: number, lights: { __typename?: 'LightCounts', white: number, yellow: number, red: number, paused: number }, orderLights: { __typename?: 'LightCounts', white: number, yellow: number, red: number, paused: number }, complaintLights: { __typename?: 'LightCounts', white: number, yellow: number, red: number, paused: number } }> } };

export type LightChangedSubscriptionVariables = Exact<{
  filter?: InputMaybe<LightChangeFilter>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type LightChangedSubscription = { __typename?: 'Subscription', lightChanged: { __typename?: 'LightChange', ledgerId: number, cursor: string, light: Light, previous: Light | null, label: string, subjectType: string, number: string | null, centerId: string, departmentId: string | null, windowId: string | null, dueInstant: string | null, announcedAt: string } };

export type ComplaintsQueryVariables = Exact<{
  filter?: InputMaybe<ComplaintFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ComplaintsQuery = { __typename?: 'Query', complaints: { __typename?: 'ComplaintConnection', totalCount: number, edges: Array<{ __typename?: 'ComplaintEdge', node: { __typename?: 'Complaint', id: string, number: string, kind: ComplaintKind, kindLabel: string, channel: string, status: ComplaintStatus, statusLabel: string, content: string, filedAt: string, dueAt: string | null, answeredAt: string | null, answer: string | null, light: Light | null, outcome: Outcome | null, caseNumber: string | null, department: { __typename?: 'Department', name: string } | null } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null } } };

export type EvaluationsQueryVariables = Exact<{
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
}>;


export type EvaluationsQuery = { __typename?: 'Query', evaluationSummary: { __typename?: 'EvaluationSummary', total: number, praise: number, praiseRate: number | null, bad: number, average: number | null, followUpsOpen: number, followUpsClosed: number, followUpsOverdue: number, badRatings: Array<{ __typename?: 'BadRating', caseNumber: string, score: number, scoreLabel: string, comment: string | null, ratedAt: string, deemed: boolean, followUp: { __typename?: 'FollowUp', stageLabel: string, dueAt: string | null, overdue: boolean, closedAt: string | null } | null }> } };

export type ScreenPlacesQueryVariables = Exact<{ [key: string]: never; }>;


export type ScreenPlacesQuery = { __typename?: 'Query', centers: Array<{ __typename?: 'Center', id: string, code: string, name: string, level: CenterLevel }>, departments: Array<{ __typename?: 'Department', id: string, code: string, name: string, center: { __typename?: 'Center', id: string, code: string, name: string } }> };

export type ScreenStatisticsQueryVariables = Exact<{
  from: Scalars['Date']['input'];
  to: Scalars['Date']['input'];
  groupBy: StatisticsGroupBy;
}>;


export type ScreenStatisticsQuery = { __typename?: 'Query', statistics: { __typename?: 'Statistics', totals: { __typename?: 'StatisticsRow', received: number, completed: number, overdue: number, onTime: number, onTimeRate: number | null }, rows: Array<{ __typename?: 'StatisticsRow', keyId: string | null, keyCode: string | null, keyName: string, received: number, completed: number, overdue: number, averageHandlingDays: number | null, onTimeRate: number | null }> } };

export type ScreenTendersQueryVariables = Exact<{ [key: string]: never; }>;


export type ScreenTendersQuery = { __typename?: 'Query', tenders: { __typename?: 'TenderConnection', totalCount: number, edges: Array<{ __typename?: 'TenderEdge', node: { __typename?: 'Tender', code: string, title: string, stage: TenderStage, stageLabel: string, light: Light | null, center: { __typename?: 'Center', name: string }, redFlags: Array<{ __typename?: 'RedFlag', code: string, title: string, raisedAt: string }> } }> } };

export type ScreenTenderStagesSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ScreenTenderStagesSubscription = { __typename?: 'Subscription', tenderStageChanged: { __typename?: 'TenderStageChange', code: string, kind: string, stage: TenderStage, previousStage: TenderStage | null, cursor: string | null } };

export type ScreenRedFlagsSubscriptionVariables = Exact<{
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type ScreenRedFlagsSubscription = { __typename?: 'Subscription', tenderRedFlags: { __typename?: 'TenderRedFlagRaised', code: string, flag: string, title: string, foundAt: string | null, cursor: string | null } };

export type ScreenViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ScreenViewerQuery = { __typename?: 'Query', me: { __typename?: 'Me', role: Role, username: string | null, centerId: string | null, departmentId: string | null, windowId: string | null } };

export type ScreenRefreshMutationVariables = Exact<{
  refreshToken: Scalars['String']['input'];
}>;


export type ScreenRefreshMutation = { __typename?: 'Mutation', refresh: { __typename?: 'AuthPayload', accessToken: string, refreshToken: string, role: Role, displayName: string } };

export type BoardWindowsQueryVariables = Exact<{ [key: string]: never; }>;


export type BoardWindowsQuery = { __typename?: 'Query', windows: Array<{ __typename?: 'Window', id: string, code: string, name: string, department: { __typename?: 'Department', name: string, center: { __typename?: 'Center', code: string, name: string } } }> };

export type BoardCasesQueryVariables = Exact<{
  filter?: InputMaybe<CaseFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
}>;


export type BoardCasesQuery = { __typename?: 'Query', cases: { __typename?: 'CaseConnection', totalCount: number, edges: Array<{ __typename?: 'CaseEdge', node: { __typename?: 'Case', number: string, status: CaseStatus, statusLabel: string, light: Light | null, dueAt: string | null, acceptedAt: string | null, applicantName: string | null, item: { __typename?: 'Item', name: string, committedDays: number }, clock: { __typename?: 'ClockInfo', paused: boolean, dueAt: string | null } | null } }> } };

export type LoginMutationVariables = Exact<{
  username: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;


export type LoginMutation = { __typename?: 'Mutation', login: { __typename?: 'AuthPayload', accessToken: string, refreshToken: string, expiresIn: number, role: Role, displayName: string } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { __typename?: 'Query', me: { __typename?: 'Me', role: Role, username: string | null, centerId: string | null, departmentId: string | null, windowId: string | null } };

export type RefreshMutationVariables = Exact<{
  refreshToken: Scalars['String']['input'];
}>;


export type RefreshMutation = { __typename?: 'Mutation', refresh: { __typename?: 'AuthPayload', accessToken: string, refreshToken: string, role: Role, displayName: string } };

export type UrgeMutationVariables = Exact<{
  input: UrgeInput;
}>;


export type UrgeMutation = { __typename?: 'Mutation', urge: { __typename?: 'Urge', number: string, replyDueAt: string | null, addressees: Array<{ __typename?: 'Staff', name: string }> } };

export type IssueOrderMutationVariables = Exact<{
  input: SupervisionOrderInput;
}>;


export type IssueOrderMutation = { __typename?: 'Mutation', issueSupervisionOrder: { __typename?: 'SupervisionOrder', number: string, dueAt: string, light: Light | null, escalationLabel: string } };

export type RecordFaultMutationVariables = Exact<{
  input: RecordFaultInput;
}>;


export type RecordFaultMutation = { __typename?: 'Mutation', recordFault: { __typename?: 'Fault', id: string, kindLabel: string, status: FaultStatus } };

export type OrdersQueryVariables = Exact<{
  filter?: InputMaybe<SupervisionFilterInput>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type OrdersQuery = { __typename?: 'Query', supervisionOrders: { __typename?: 'SupervisionOrderConnection', edges: Array<{ __typename?: 'SupervisionOrderEdge', node: { __typename?: 'SupervisionOrder', id: string, number: string, target: string, targetKind: string, message: string, issuedAt: string, automatic: boolean, dueAt: string, firstDueAt: string, status: OrderStatus, escalationLevel: number, escalationLabel: string, escalatedAt: string | null, light: Light | null, repliedAt: string | null, repliedOnTime: boolean | null, reply: string | null, caseNumber: string | null, department: { __typename?: 'Department', name: string }, window: { __typename?: 'Window', name: string } | null } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null } } };

export type UrgesQueryVariables = Exact<{
  filter?: InputMaybe<SupervisionFilterInput>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type UrgesQuery = { __typename?: 'Query', urges: { __typename?: 'UrgeConnection', edges: Array<{ __typename?: 'UrgeEdge', node: { __typename?: 'Urge', id: string, number: string, target: string, message: string, createdAt: string, automatic: boolean, replyDueAt: string | null, repliedAt: string | null, reply: string | null, status: UrgeStatus, caseNumber: string | null, department: { __typename?: 'Department', name: string }, window: { __typename?: 'Window', name: string } | null } }>, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor: string | null } } };

export type StatisticsQueryVariables = Exact<{
  from: Scalars['Date']['input'];
  to: Scalars['Date']['input'];
  groupBy: StatisticsGroupBy;
}>;


export type StatisticsQuery = { __typename?: 'Query', statistics: { __typename?: 'Statistics', from: string, to: string, excelUrl: string, rows: Array<{ __typename?: 'StatisticsRow', keyId: string | null, keyCode: string | null, keyName: string, received: number, accepted: number, completed: number, onTime: number, overdue: number, overLegalLimit: number, onTimeRate: number | null, urges: number, orders: number, ordersAnsweredOnTime: number, complaints: number, evaluations: number, evaluationScore: number | null, averageHandlingDays: number | null }>, totals: { __typename?: 'StatisticsRow', keyName: string, received: number, accepted: number, completed: number, onTime: number, overdue: number, overLegalLimit: number, onTimeRate: number | null, urges: number, orders: number, complaints: number, evaluationScore: number | null } } };

export type AccountabilityQueryVariables = Exact<{
  faultFilter?: InputMaybe<FaultFilter>;
}>;


export type AccountabilityQuery = { __typename?: 'Query', faults: { __typename?: 'FaultConnection', totalCount: number, edges: Array<{ __typename?: 'FaultEdge', node: { __typename?: 'Fault', id: string, kind: string, kindLabel: string, category: FaultCategory, status: FaultStatus, description: string, occurredAt: string, recordedBy: string | null, caseNumber: string | null, source: string, staff: { __typename?: 'Staff', name: string } | null, department: { __typename?: 'Department', name: string } | null, window: { __typename?: 'Window', name: string } | null } }> }, accountabilitySuggestions: Array<{ __typename?: 'AccountabilitySuggestion', id: string, period: string, status: SuggestionStatus, sanctionLabel: string, faultCount: number, createdAt: string, decidedAt: string | null, decidedBy: string | null, reason: string | null, rule: { __typename?: 'AccountabilityRule', name: string } | null, staff: { __typename?: 'Staff', name: string } | null, department: { __typename?: 'Department', name: string } | null, window: { __typename?: 'Window', name: string } | null }>, appeals: Array<{ __typename?: 'Appeal', id: string, subjectType: string, subjectId: string, reason: string, evidence: Array<string>, status: AppealStatus, filedBy: string | null, filedAt: string, decidedBy: string | null, decidedAt: string | null, decisionReason: string | null, department: { __typename?: 'Department', name: string } | null, staff: { __typename?: 'Staff', name: string } | null }> };

export type DecideSuggestionMutationVariables = Exact<{
  id: Scalars['ID']['input'];
  decision: SuggestionDecision;
  reason?: InputMaybe<Scalars['String']['input']>;
  sanction?: InputMaybe<Sanction>;
}>;


export type DecideSuggestionMutation = { __typename?: 'Mutation', decideSuggestion: { __typename?: 'AccountabilitySuggestion', id: string, status: SuggestionStatus, sanctionLabel: string } };

export type DecideAppealMutationVariables = Exact<{
  id: Scalars['ID']['input'];
  outcome: AppealOutcome;
  reason: Scalars['String']['input'];
}>;


export type DecideAppealMutation = { __typename?: 'Mutation', decideAppeal: { __typename?: 'Appeal', id: string, status: AppealStatus } };

export type ReportsQueryVariables = Exact<{ [key: string]: never; }>;


export type ReportsQuery = { __typename?: 'Query', publishedReports: Array<{ __typename?: 'PublishedReport', id: string, title: string, periodFrom: string, periodTo: string, publishedAt: string, pdfUrl: string | null, center: { __typename?: 'ReportCenter', id: string, code: string, name: string }, totals: { __typename?: 'ReportFigures', received: number, completed: number, onTime: number, onTimeRate: number | null } }> };

export type PublishReportMutationVariables = Exact<{
  centerId: Scalars['ID']['input'];
  periodFrom: Scalars['Date']['input'];
  periodTo: Scalars['Date']['input'];
}>;


export type PublishReportMutation = { __typename?: 'Mutation', publishReport: { __typename?: 'PublishReportResult', created: boolean, notices: number, report: { __typename?: 'PublishedReport', id: string, title: string } } };

export type VideoCamerasQueryVariables = Exact<{
  windowCode?: InputMaybe<Scalars['String']['input']>;
  centerCode?: InputMaybe<Scalars['String']['input']>;
}>;


export type VideoCamerasQuery = { __typename?: 'Query', cameras: Array<{ __typename?: 'Camera', id: string, code: string, name: string, location: string | null, streamUrl: string, playbackUrl: string | null, retentionDays: number, centerCode: string, window: { __typename?: 'Window', id: string, code: string, name: string } | null }> };

export type VideoBookmarksQueryVariables = Exact<{
  caseNumber: Scalars['String']['input'];
}>;


export type VideoBookmarksQuery = { __typename?: 'Query', videoBookmarks: Array<{ __typename?: 'VideoBookmark', at: string, offsetSeconds: number | null, status: VideoBookmarkStatus, eventKind: string, title: string, caseNumber: string, camera: { __typename?: 'Camera', id: string, code: string, name: string, location: string | null, streamUrl: string, playbackUrl: string | null, retentionDays: number, centerCode: string, window: { __typename?: 'Window', id: string, code: string, name: string } | null } }>, videoEvidence: Array<{ __typename?: 'VideoEvidence', id: string, at: string, offsetSeconds: number | null, note: string, faultId: string | null, markedBy: string | null, markedAt: string, camera: { __typename?: 'Camera', code: string, name: string } }> };

export type VideoWindowCasesQueryVariables = Exact<{
  filter?: InputMaybe<CaseFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
}>;


export type VideoWindowCasesQuery = { __typename?: 'Query', cases: { __typename?: 'CaseConnection', edges: Array<{ __typename?: 'CaseEdge', node: { __typename?: 'Case', number: string, statusLabel: string, light: Light | null, acceptedAt: string | null, item: { __typename?: 'Item', name: string }, window: { __typename?: 'Window', id: string, code: string, name: string } | null } }> } };

export type MarkVideoEvidenceMutationVariables = Exact<{
  input: VideoEvidenceInput;
}>;


export type MarkVideoEvidenceMutation = { __typename?: 'Mutation', markVideoEvidence: { __typename?: 'VideoEvidence', id: string, at: string, offsetSeconds: number | null, note: string, caseNumber: string | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const CaseRowFragmentDoc = new TypedDocumentString(`
    fragment CaseRow on Case {
  id
  number
  status
  statusLabel
  light
  dueAt
  overLegalLimit
  acceptedAt
  completedAt
  applicantName
  item {
    name
  }
  department {
    id
    name
  }
  window {
    code
    name
  }
  center {
    code
    name
  }
}
    `, {"fragmentName":"CaseRow"}) as unknown as TypedDocumentString<CaseRowFragment, unknown>;
export const ClockFieldsFragmentDoc = new TypedDocumentString(`
    fragment ClockFields on ClockInfo {
  startedAt
  limitDays
  extendedDays
  pausedDays
  basis
  dueAt
  yellowAt
  redAt
  provisional
  light
  paused
  finished
  outcome
  outcomeDays
  finishedAt
}
    `, {"fragmentName":"ClockFields"}) as unknown as TypedDocumentString<ClockFieldsFragment, unknown>;
export const LightCountsFieldsFragmentDoc = new TypedDocumentString(`
    fragment LightCountsFields on LightCounts {
  white
  yellow
  red
  paused
}
    `, {"fragmentName":"LightCountsFields"}) as unknown as TypedDocumentString<LightCountsFieldsFragment, unknown>;
export const LightCountDocument = new TypedDocumentString(`
    query LightCount($filter: CaseFilter) {
  cases(filter: $filter, first: 1) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<LightCountQuery, LightCountQueryVariables>;
export const ScopeLightCountsDocument = new TypedDocumentString(`
    query ScopeLightCounts {
  red: cases(filter: {lights: [RED]}, first: 1) {
    totalCount
  }
  yellow: cases(filter: {lights: [YELLOW]}, first: 1) {
    totalCount
  }
  white: cases(filter: {lights: [WHITE]}, first: 1) {
    totalCount
  }
  paused: cases(filter: {lights: [PAUSED]}, first: 1) {
    totalCount
  }
}
    `) as unknown as TypedDocumentString<ScopeLightCountsQuery, ScopeLightCountsQueryVariables>;
export const CaseListDocument = new TypedDocumentString(`
    query CaseList($filter: CaseFilter, $first: Int, $after: String) {
  cases(filter: $filter, first: $first, after: $after) {
    totalCount
    edges {
      node {
        ...CaseRow
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment CaseRow on Case {
  id
  number
  status
  statusLabel
  light
  dueAt
  overLegalLimit
  acceptedAt
  completedAt
  applicantName
  item {
    name
  }
  department {
    id
    name
  }
  window {
    code
    name
  }
  center {
    code
    name
  }
}`) as unknown as TypedDocumentString<CaseListQuery, CaseListQueryVariables>;
export const CaseStoryDocument = new TypedDocumentString(`
    query CaseStory($number: String!) {
  case(number: $number) {
    ...CaseRow
    channel
    result
    reason
    submittedAt
    deemedAccepted
    reportedLate
    extensionDays
    applicantPhone
    legalDueAt
    item {
      code
      name
      committedDays
      legalDays
    }
    staff {
      name
    }
    clock {
      ...ClockFields
    }
    legalClock {
      ...ClockFields
    }
    steps {
      seq
      name
      status
      limitDays
      startedAt
      finishedAt
      department {
        name
      }
      staff {
        name
      }
      clock {
        ...ClockFields
      }
    }
    timeline {
      at
      kind
      title
      actor
      ledgerEventId
    }
    notices {
      id
      channel
      recipient
      templateLabel
      status
      createdAt
      sentAt
    }
    urges {
      id
      number
      message
      createdAt
      createdBy
      automatic
      replyDueAt
      repliedAt
      reply
      status
    }
    orders {
      id
      number
      message
      issuedAt
      automatic
      dueAt
      status
      escalationLabel
      light
      repliedAt
      repliedOnTime
      reply
    }
    faults {
      id
      kindLabel
      description
      status
      occurredAt
      recordedBy
    }
    complaints {
      id
      number
      kindLabel
      statusLabel
      content
      filedAt
      dueAt
      light
      answer
    }
    evaluation {
      score
      scoreLabel
      comment
      ratedAt
      deemed
      followUp {
        stageLabel
        dueAt
        overdue
        closedAt
        records {
          label
          note
          at
          actor
        }
      }
    }
  }
}
    fragment CaseRow on Case {
  id
  number
  status
  statusLabel
  light
  dueAt
  overLegalLimit
  acceptedAt
  completedAt
  applicantName
  item {
    name
  }
  department {
    id
    name
  }
  window {
    code
    name
  }
  center {
    code
    name
  }
}
fragment ClockFields on ClockInfo {
  startedAt
  limitDays
  extendedDays
  pausedDays
  basis
  dueAt
  yellowAt
  redAt
  provisional
  light
  paused
  finished
  outcome
  outcomeDays
  finishedAt
}`) as unknown as TypedDocumentString<CaseStoryQuery, CaseStoryQueryVariables>;
export const CaseEventsDocument = new TypedDocumentString(`
    subscription CaseEvents($number: String!, $after: String) {
  caseEvents(number: $number, after: $after) {
    ledgerId
    cursor
    kind
  }
}
    `) as unknown as TypedDocumentString<CaseEventsSubscription, CaseEventsSubscriptionVariables>;
export const DepartmentsDocument = new TypedDocumentString(`
    query Departments {
  centers {
    id
    code
    name
    level
  }
  departments {
    id
    code
    name
    center {
      id
      code
      name
    }
  }
}
    `) as unknown as TypedDocumentString<DepartmentsQuery, DepartmentsQueryVariables>;
export const FaultKindsDocument = new TypedDocumentString(`
    query FaultKinds {
  faultKinds {
    code
    label
    category
  }
}
    `) as unknown as TypedDocumentString<FaultKindsQuery, FaultKindsQueryVariables>;
export const WindowsDocument = new TypedDocumentString(`
    query Windows($departmentId: ID) {
  windows(departmentId: $departmentId) {
    id
    code
    name
  }
}
    `) as unknown as TypedDocumentString<WindowsQuery, WindowsQueryVariables>;
export const OverviewDocument = new TypedDocumentString(`
    query Overview {
  overview {
    asOf
    centers {
      name
      code
      center
      lights {
        ...LightCountsFields
      }
      overLegalLimit
    }
    departments {
      name
      code
      center
      lights {
        ...LightCountsFields
      }
      orderLights {
        ...LightCountsFields
      }
      complaintLights {
        ...LightCountsFields
      }
      overLegalLimit
    }
  }
}
    fragment LightCountsFields on LightCounts {
  white
  yellow
  red
  paused
}`) as unknown as TypedDocumentString<OverviewQuery, OverviewQueryVariables>;
export const LightChangedDocument = new TypedDocumentString(`
    subscription LightChanged($filter: LightChangeFilter, $after: String) {
  lightChanged(filter: $filter, after: $after) {
    ledgerId
    cursor
    light
    previous
    label
    subjectType
    number
    centerId
    departmentId
    windowId
    dueInstant
    announcedAt
  }
}
    `) as unknown as TypedDocumentString<LightChangedSubscription, LightChangedSubscriptionVariables>;
export const ComplaintsDocument = new TypedDocumentString(`
    query Complaints($filter: ComplaintFilter, $first: Int, $after: String) {
  complaints(filter: $filter, first: $first, after: $after) {
    totalCount
    edges {
      node {
        id
        number
        kind
        kindLabel
        channel
        status
        statusLabel
        content
        filedAt
        dueAt
        answeredAt
        answer
        light
        outcome
        caseNumber
        department {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<ComplaintsQuery, ComplaintsQueryVariables>;
export const EvaluationsDocument = new TypedDocumentString(`
    query Evaluations($from: DateTime!, $to: DateTime!) {
  evaluationSummary(from: $from, to: $to) {
    total
    praise
    praiseRate
    bad
    average
    followUpsOpen
    followUpsClosed
    followUpsOverdue
    badRatings {
      caseNumber
      score
      scoreLabel
      comment
      ratedAt
      deemed
      followUp {
        stageLabel
        dueAt
        overdue
        closedAt
      }
    }
  }
}
    `) as unknown as TypedDocumentString<EvaluationsQuery, EvaluationsQueryVariables>;
export const ScreenPlacesDocument = new TypedDocumentString(`
    query ScreenPlaces {
  centers {
    id
    code
    name
    level
  }
  departments {
    id
    code
    name
    center {
      id
      code
      name
    }
  }
}
    `) as unknown as TypedDocumentString<ScreenPlacesQuery, ScreenPlacesQueryVariables>;
export const ScreenStatisticsDocument = new TypedDocumentString(`
    query ScreenStatistics($from: Date!, $to: Date!, $groupBy: StatisticsGroupBy!) {
  statistics(from: $from, to: $to, groupBy: $groupBy) {
    totals {
      received
      completed
      overdue
      onTime
      onTimeRate
    }
    rows {
      keyId
      keyCode
      keyName
      received
      completed
      overdue
      averageHandlingDays
      onTimeRate
    }
  }
}
    `) as unknown as TypedDocumentString<ScreenStatisticsQuery, ScreenStatisticsQueryVariables>;
export const ScreenTendersDocument = new TypedDocumentString(`
    query ScreenTenders {
  tenders(first: 100) {
    totalCount
    edges {
      node {
        code
        title
        stage
        stageLabel
        light
        center {
          name
        }
        redFlags {
          code
          title
          raisedAt
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ScreenTendersQuery, ScreenTendersQueryVariables>;
export const ScreenTenderStagesDocument = new TypedDocumentString(`
    subscription ScreenTenderStages($after: String) {
  tenderStageChanged(after: $after) {
    code
    kind
    stage
    previousStage
    cursor
  }
}
    `) as unknown as TypedDocumentString<ScreenTenderStagesSubscription, ScreenTenderStagesSubscriptionVariables>;
export const ScreenRedFlagsDocument = new TypedDocumentString(`
    subscription ScreenRedFlags($after: String) {
  tenderRedFlags(after: $after) {
    code
    flag
    title
    foundAt
    cursor
  }
}
    `) as unknown as TypedDocumentString<ScreenRedFlagsSubscription, ScreenRedFlagsSubscriptionVariables>;
export const ScreenViewerDocument = new TypedDocumentString(`
    query ScreenViewer {
  me {
    role
    username
    centerId
    departmentId
    windowId
  }
}
    `) as unknown as TypedDocumentString<ScreenViewerQuery, ScreenViewerQueryVariables>;
export const ScreenRefreshDocument = new TypedDocumentString(`
    mutation ScreenRefresh($refreshToken: String!) {
  refresh(refreshToken: $refreshToken) {
    accessToken
    refreshToken
    role
    displayName
  }
}
    `) as unknown as TypedDocumentString<ScreenRefreshMutation, ScreenRefreshMutationVariables>;
export const BoardWindowsDocument = new TypedDocumentString(`
    query BoardWindows {
  windows {
    id
    code
    name
    department {
      name
      center {
        code
        name
      }
    }
  }
}
    `) as unknown as TypedDocumentString<BoardWindowsQuery, BoardWindowsQueryVariables>;
export const BoardCasesDocument = new TypedDocumentString(`
    query BoardCases($filter: CaseFilter, $first: Int) {
  cases(filter: $filter, first: $first) {
    totalCount
    edges {
      node {
        number
        status
        statusLabel
        light
        dueAt
        acceptedAt
        applicantName
        item {
          name
          committedDays
        }
        clock {
          paused
          dueAt
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<BoardCasesQuery, BoardCasesQueryVariables>;
export const LoginDocument = new TypedDocumentString(`
    mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    accessToken
    refreshToken
    expiresIn
    role
    displayName
  }
}
    `) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    role
    username
    centerId
    departmentId
    windowId
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const RefreshDocument = new TypedDocumentString(`
    mutation Refresh($refreshToken: String!) {
  refresh(refreshToken: $refreshToken) {
    accessToken
    refreshToken
    role
    displayName
  }
}
    `) as unknown as TypedDocumentString<RefreshMutation, RefreshMutationVariables>;
export const UrgeDocument = new TypedDocumentString(`
    mutation Urge($input: UrgeInput!) {
  urge(input: $input) {
    number
    replyDueAt
    addressees {
      name
    }
  }
}
    `) as unknown as TypedDocumentString<UrgeMutation, UrgeMutationVariables>;
export const IssueOrderDocument = new TypedDocumentString(`
    mutation IssueOrder($input: SupervisionOrderInput!) {
  issueSupervisionOrder(input: $input) {
    number
    dueAt
    light
    escalationLabel
  }
}
    `) as unknown as TypedDocumentString<IssueOrderMutation, IssueOrderMutationVariables>;
export const RecordFaultDocument = new TypedDocumentString(`
    mutation RecordFault($input: RecordFaultInput!) {
  recordFault(input: $input) {
    id
    kindLabel
    status
  }
}
    `) as unknown as TypedDocumentString<RecordFaultMutation, RecordFaultMutationVariables>;
export const OrdersDocument = new TypedDocumentString(`
    query Orders($filter: SupervisionFilterInput, $first: Int, $after: String) {
  supervisionOrders(filter: $filter, first: $first, after: $after) {
    edges {
      node {
        id
        number
        target
        targetKind
        message
        issuedAt
        automatic
        dueAt
        firstDueAt
        status
        escalationLevel
        escalationLabel
        escalatedAt
        light
        repliedAt
        repliedOnTime
        reply
        caseNumber
        department {
          name
        }
        window {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<OrdersQuery, OrdersQueryVariables>;
export const UrgesDocument = new TypedDocumentString(`
    query Urges($filter: SupervisionFilterInput, $first: Int, $after: String) {
  urges(filter: $filter, first: $first, after: $after) {
    edges {
      node {
        id
        number
        target
        message
        createdAt
        automatic
        replyDueAt
        repliedAt
        reply
        status
        caseNumber
        department {
          name
        }
        window {
          name
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<UrgesQuery, UrgesQueryVariables>;
export const StatisticsDocument = new TypedDocumentString(`
    query Statistics($from: Date!, $to: Date!, $groupBy: StatisticsGroupBy!) {
  statistics(from: $from, to: $to, groupBy: $groupBy) {
    from
    to
    excelUrl
    rows {
      keyId
      keyCode
      keyName
      received
      accepted
      completed
      onTime
      overdue
      overLegalLimit
      onTimeRate
      urges
      orders
      ordersAnsweredOnTime
      complaints
      evaluations
      evaluationScore
      averageHandlingDays
    }
    totals {
      keyName
      received
      accepted
      completed
      onTime
      overdue
      overLegalLimit
      onTimeRate
      urges
      orders
      complaints
      evaluationScore
    }
  }
}
    `) as unknown as TypedDocumentString<StatisticsQuery, StatisticsQueryVariables>;
export const AccountabilityDocument = new TypedDocumentString(`
    query Accountability($faultFilter: FaultFilter) {
  faults(filter: $faultFilter, first: 50) {
    totalCount
    edges {
      node {
        id
        kind
        kindLabel
        category
        status
        description
        occurredAt
        recordedBy
        caseNumber
        source
        staff {
          name
        }
        department {
          name
        }
        window {
          name
        }
      }
    }
  }
  accountabilitySuggestions {
    id
    period
    status
    sanctionLabel
    faultCount
    createdAt
    decidedAt
    decidedBy
    reason
    rule {
      name
    }
    staff {
      name
    }
    department {
      name
    }
    window {
      name
    }
  }
  appeals {
    id
    subjectType
    subjectId
    reason
    evidence
    status
    filedBy
    filedAt
    decidedBy
    decidedAt
    decisionReason
    department {
      name
    }
    staff {
      name
    }
  }
}
    `) as unknown as TypedDocumentString<AccountabilityQuery, AccountabilityQueryVariables>;
export const DecideSuggestionDocument = new TypedDocumentString(`
    mutation DecideSuggestion($id: ID!, $decision: SuggestionDecision!, $reason: String, $sanction: Sanction) {
  decideSuggestion(
    id: $id
    decision: $decision
    reason: $reason
    sanction: $sanction
  ) {
    id
    status
    sanctionLabel
  }
}
    `) as unknown as TypedDocumentString<DecideSuggestionMutation, DecideSuggestionMutationVariables>;
export const DecideAppealDocument = new TypedDocumentString(`
    mutation DecideAppeal($id: ID!, $outcome: AppealOutcome!, $reason: String!) {
  decideAppeal(id: $id, outcome: $outcome, reason: $reason) {
    id
    status
  }
}
    `) as unknown as TypedDocumentString<DecideAppealMutation, DecideAppealMutationVariables>;
export const ReportsDocument = new TypedDocumentString(`
    query Reports {
  publishedReports {
    id
    title
    periodFrom
    periodTo
    publishedAt
    pdfUrl
    center {
      id
      code
      name
    }
    totals {
      received
      completed
      onTime
      onTimeRate
    }
  }
}
    `) as unknown as TypedDocumentString<ReportsQuery, ReportsQueryVariables>;
export const PublishReportDocument = new TypedDocumentString(`
    mutation PublishReport($centerId: ID!, $periodFrom: Date!, $periodTo: Date!) {
  publishReport(centerId: $centerId, periodFrom: $periodFrom, periodTo: $periodTo) {
    created
    notices
    report {
      id
      title
    }
  }
}
    `) as unknown as TypedDocumentString<PublishReportMutation, PublishReportMutationVariables>;
export const VideoCamerasDocument = new TypedDocumentString(`
    query VideoCameras($windowCode: String, $centerCode: String) {
  cameras(windowCode: $windowCode, centerCode: $centerCode) {
    id
    code
    name
    location
    streamUrl
    playbackUrl
    retentionDays
    centerCode
    window {
      id
      code
      name
    }
  }
}
    `) as unknown as TypedDocumentString<VideoCamerasQuery, VideoCamerasQueryVariables>;
export const VideoBookmarksDocument = new TypedDocumentString(`
    query VideoBookmarks($caseNumber: String!) {
  videoBookmarks(caseNumber: $caseNumber) {
    camera {
      id
      code
      name
      location
      streamUrl
      playbackUrl
      retentionDays
      centerCode
      window {
        id
        code
        name
      }
    }
    at
    offsetSeconds
    status
    eventKind
    title
    caseNumber
  }
  videoEvidence(caseNumber: $caseNumber) {
    id
    camera {
      code
      name
    }
    at
    offsetSeconds
    note
    faultId
    markedBy
    markedAt
  }
}
    `) as unknown as TypedDocumentString<VideoBookmarksQuery, VideoBookmarksQueryVariables>;
export const VideoWindowCasesDocument = new TypedDocumentString(`
    query VideoWindowCases($filter: CaseFilter, $first: Int) {
  cases(filter: $filter, first: $first) {
    edges {
      node {
        number
        statusLabel
        light
        acceptedAt
        item {
          name
        }
        window {
          id
          code
          name
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<VideoWindowCasesQuery, VideoWindowCasesQueryVariables>;
export const MarkVideoEvidenceDocument = new TypedDocumentString(`
    mutation MarkVideoEvidence($input: VideoEvidenceInput!) {
  markVideoEvidence(input: $input) {
    id
    at
    offsetSeconds
    note
    caseNumber
  }
}
    `) as unknown as TypedDocumentString<MarkVideoEvidenceMutation, MarkVideoEvidenceMutationVariables>;