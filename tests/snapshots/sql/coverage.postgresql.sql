-- 2099A001.4.hub_towns as of 2024-09-30
SELECT coalesce(sum(CASE WHEN (coalesce(counts.n, 0) >= 2) THEN 1 ELSE 0 END), 0) AS actual, coalesce(sum(counts.n), 0) AS evidence, 0 AS violations, count(*) AS units 
FROM (SELECT CAST('北山街道' AS VARCHAR) AS member UNION ALL SELECT CAST('西溪街道' AS VARCHAR) AS member UNION ALL SELECT CAST('灵隐街道' AS VARCHAR) AS member) AS member_set LEFT OUTER JOIN (SELECT CAST(r.town AS VARCHAR) AS member, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS n 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30' AND r.activity_type IN ('hub') AND r.town IS NOT NULL GROUP BY r.town) AS counts ON counts.member = member_set.member;

-- 未覆盖成员明细
SELECT member_set.member, coalesce(counts.n, 0) AS n 
FROM (SELECT CAST('北山街道' AS VARCHAR) AS member UNION ALL SELECT CAST('西溪街道' AS VARCHAR) AS member UNION ALL SELECT CAST('灵隐街道' AS VARCHAR) AS member) AS member_set LEFT OUTER JOIN (SELECT CAST(r.town AS VARCHAR) AS member, coalesce(sum(CASE WHEN true THEN 1 ELSE 0 END), 0) AS n 
FROM activity AS r 
WHERE r.project_code = '2099A001' AND r.retired_at IS NULL AND (r.batch_id IS NULL OR (r.batch_id NOT IN (SELECT unpublished_batch.id 
FROM importbatch AS unpublished_batch 
WHERE unpublished_batch.published_at IS NULL))) AND r.date <= '2024-09-30' AND r.activity_type IN ('hub') AND r.town IS NOT NULL GROUP BY r.town) AS counts ON counts.member = member_set.member ORDER BY member_set.member;
