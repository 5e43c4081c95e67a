/**
 * The API's stable error codes (packages/api/src/errors.ts) as a Chinese reader reads them: one
 * sentence per code, shown before the server's English message (which names the object and the
 * field, and is kept as written). A test checks that every code the API has is here.
 */
export const ERROR_SUMMARY_ZH: Readonly<Record<string, string>> = {
  REQUEST_INVALID: '请求与 API 规范不符（路径、查询参数、请求头或请求体）。',
  BODY_MALFORMED: '请求体不是有效的 JSON（或在允许处的 YAML）。',
  JOB_SPEC_INVALID: '作业规格有误；详情列出了每个字段及修改方法。',
  JOB_ARRAY_INVALID: '作业数组表达式（array: 或 --array）格式有误，或任务数过多。',
  POLICY_INVALID: '策略文档有误；详情列出了每个字段及修改方法。',
  BUDGET_NEEDS_TIME_LIMIT: '该租户或项目设有预算，作业必须设置时间上限。',
  BOOKING_INVALID: '预约有误（时间窗口、时区或重复规则）；详情列出了每个字段。',
  UNIX_USER_FORBIDDEN: '作业不能以该 Unix 账户运行：它是 root 或 uid 为 0（超级用户）。',
  UNAUTHENTICATED: '未提供有效的 API 令牌（Authorization: Bearer <令牌>）。',
  BUDGET_EXCEEDED: '该作业会使租户或项目超出每月加速卡小时预算。',
  FORBIDDEN: '令牌有效，但其角色无权执行此操作。',
  UNIX_USER_OPERATOR_ONLY: '只有运维人员或管理员可以指定成员作业所用的 Unix 账户。',
  ROUTE_NOT_FOUND: '没有这个 API 路径。',
  BOOKING_NOT_FOUND: '没有您可见的该编号预约。',
  JOB_NOT_FOUND: '没有您可见的该编号作业。',
  NODE_NOT_FOUND: '没有这个名称的节点。',
  TENANT_NOT_FOUND: '没有您可见的该名称租户。',
  PROJECT_NOT_FOUND: '该租户没有这个名称的项目。',
  MEMBER_NOT_FOUND: '该主体不是此租户的成员。',
  TOKEN_NOT_FOUND: '没有您可见的该编号 API 令牌。',
  BUDGET_NOT_FOUND: '该租户或项目未设置预算。',
  LOG_NOT_FOUND: '该作业的这次尝试还没有这个输出流的日志。',
  JOB_ALREADY_FINISHED: '作业已经结束，无法取消。',
  LOG_UNSAFE: '日志文件已被替换为服务器不会读取的内容（链接、非普通文件或属于其他用户）。',
  IDEMPOTENCY_KEY_REUSED: '该 Idempotency-Key 之前已用于另一份作业规格。',
  BOOKING_NO_CAPACITY: '整个时间窗口内加速卡并不空闲（被预约、维护或运行中的作业占用）。',
  BOOKING_QUOTA_EXCEEDED: '该预约会超出租户的预约配额（提前占用的加速卡小时，或每次预约的加速卡数）。',
  ALREADY_EXISTS: '同名对象已存在。',
  STATE_CONFLICT: '对象被同时修改；请重试。',
  METHOD_NOT_ALLOWED: '该路径存在，但不支持此 HTTP 方法。',
  PAYLOAD_TOO_LARGE: '请求体超过大小上限。',
  UNSUPPORTED_MEDIA_TYPE: '请发送 application/json（作业规格也可用 application/yaml）。',
  RATE_LIMITED: '请求过于频繁（来自该主体、其租户或该地址）；请在 Retry-After 指定的时间后重试。',
  TOO_MANY_WAITING_JOBS:
    '该租户等待中的作业已达上限（策略的 maxWaitingJobs，默认 10,000）；请等待、取消部分作业，或请运维人员提高上限。',
  TOO_MANY_TOKENS: '该主体的有效 API 令牌已达上限（默认 20 个）；请先吊销不用的令牌（suanli token revoke）。',
  INTERNAL: '平台发生意外错误；服务器日志中按请求编号记录了详情。',
  STORE_UNAVAILABLE: '无法连接数据库；请稍后重试。',
  STORAGE_FULL:
    '平台暂时无法保存请求：数据库（或数据目录）所在磁盘已满。未保存任何内容；请在 Retry-After 指定的时间后重试。',
};

/**
 * An error line (`CODE: message`, as `errorMessage` writes it) for the reader: in Chinese, the
 * code's sentence first, then the code and the server's message as written; otherwise unchanged.
 */
export function localizeError(text: string, lang: string): string {
  if (lang === 'en') return text;
  const m = /^([A-Z][A-Z0-9_]+): /.exec(text);
  const zh = m ? ERROR_SUMMARY_ZH[m[1] ?? ''] : undefined;
  return zh === undefined ? text : `${zh}（${text}）`;
}
