-- The brief's joint bottoms: per pair and day (brief_date), the latest confirmed leader
-- bottom the laggard bottomed with (int_joint_bottoms: confirmed a window after the trough,
-- if the leader made no lower close by then), from its confirmed_date until the leader
-- closes lower (superseded_date): bottom_rank 1, with its age; and, bottom_rank 2, the
-- latest of the leader's later confirmed bottoms (of later drawdown episodes, each
-- episode's lowest close as known then) that the laggard did not bottom with, with their
-- count (n_later_not_coinciding): "the 2022-23 drawdown had none". Bottoms whose answer is
-- unknown (no laggard data around them) are left out. Grain: (brief_date, pair_id,
-- bottom_rank).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with bottoms as (
    select *
    from {{ ref('int_joint_bottoms') }}
    where coincides is not null and confirmed_date is not null
),

brief_dates as (
    {{ brief_dates() }}
),

bottom_days as (
    select
        d.brief_date,
        b.*,
        max(case when b.coincides then b.trough_date end) over (
            partition by b.pair_id, d.brief_date
        ) as joint_trough_date
    from bottoms as b
    inner join brief_dates as d
        on d.brief_date >= b.confirmed_date
        and (b.superseded_date is null or d.brief_date < b.superseded_date)
),

bottom_ranked as (
    select
        *,
        case when coincides then 1 else 2 end as bottom_rank,
        row_number() over (
            partition by pair_id, brief_date, coincides order by trough_date desc
        ) as newest,
        count(*) over (partition by pair_id, brief_date, coincides) as n_of_kind
    from bottom_days
    where coincides or trough_date > joint_trough_date
),

pairs as (
    {{ brief_pairs() }}
)

select
    b.brief_date,
    b.pair_id,
    b.leader,
    b.laggard,
    b.bottom_rank,
    p.leader_name,
    p.laggard_name,
    {{ pair_subject_name('b.leader', 'b.laggard', 'p.leader_name', 'p.laggard_name') }}
                                                             as pair_name,
    b.coincides,
    b.peak_date                                              as leader_record_date,
    b.trough_date,
    {{ days_between('b.trough_date', 'b.brief_date') }}      as days_since_trough,
    b.trough_close                                           as leader_trough_close,
    b.trough_drawdown                                        as leader_trough_drawdown,
    b.laggard_low_date,
    b.laggard_low,
    b.confirmed_date,
    cast(case when not b.coincides then b.n_of_kind end as integer)
                                                             as n_later_not_coinciding
from bottom_ranked as b
inner join pairs as p on p.pair_id = b.pair_id
where b.newest = 1
